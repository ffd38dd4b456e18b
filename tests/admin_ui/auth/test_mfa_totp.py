"""MFA with an authenticator app through HTTP: enrolment, the code page, drift, replay, lockout, recovery."""
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
from sqlalchemy import select

from conftest import csrf_token_from
from idp.models import AuditEvent, LoginEvent, MfaFactor, MfaRecoveryCode, SsoSession
from idp.platform.extensions import db
from tests.support.mfa import post_form, recovery_codes_on, secret_on, set_mode, totp

EMAIL = "taro@acme.example.com"
LOCK_MESSAGE = ("ログインに連続で失敗したため、このアカウントはロックされています。"
                "30分後に再度ログインをお試しいただくか、管理者にロック解除をご依頼ください。")


@pytest.fixture
def account_id(app, factory, clock):
    factory.tenant()
    account_id = factory.account()[0]
    set_mode(app, clock, "totp")
    return account_id


def enrol(client, login, clock, next_url=None):
    """Password, then TOTP enrolment; returns (secret, recovery codes, final response)."""
    response = login(next_url=next_url)
    assert response.headers["Location"] == "/login/mfa"
    assert client.get("/login/mfa").headers["Location"] == "/login/mfa/totp"
    secret = secret_on(client.get("/login/mfa/totp").get_data(as_text=True))
    done = post_form(client, "/login/mfa/totp", {"code": totp(secret, clock)})
    return secret, recovery_codes_on(done.get_data(as_text=True)), done


def sessions_of(app, account_id):
    with app.app_context():
        return db.session.scalars(select(SsoSession).where(SsoSession.account_id == account_id)).all()


def test_password_alone_no_longer_signs_in(client, login, app, account_id):
    response = login()
    assert response.status_code == 302 and response.headers["Location"] == "/login/mfa"
    assert client.get_cookie("idp_sso") is None
    assert client.get("/").headers["Location"].startswith("/login")  # the half-done login is no session
    assert sessions_of(app, account_id) == []


@pytest.fixture
def qr_inputs(monkeypatch):
    """What the page fed to the QR library (segno), and the SVG it got back."""
    import segno
    seen = []
    real_make = segno.make

    def spy(content, *args, **kwargs):
        qr = real_make(content, *args, **kwargs)
        seen.append((content, qr))
        return qr
    monkeypatch.setattr(segno, "make", spy)
    return seen


def test_qr_code_carries_the_otpauth_uri(client, login, account_id, qr_inputs):
    login()
    html = client.get("/login/mfa/totp").get_data(as_text=True)
    secret = secret_on(html)
    [(uri, qr)] = qr_inputs
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == f"/まとめログイン (ACME株式会社):{EMAIL}"  # issuer = product + tenant, label = email
    query = parse_qs(parts.query)
    assert query["secret"] == [secret] and query["issuer"] == ["まとめログイン (ACME株式会社)"]
    # what Google / Microsoft Authenticator assume: SHA-1, 6 digits, 30 s (absent = the default)
    assert query.get("algorithm", ["SHA1"]) == ["SHA1"]
    assert query.get("digits", ["6"]) == ["6"] and query.get("period", ["30"]) == ["30"]
    assert qr.svg_inline(scale=4, title="QR") in html  # the SVG on the page is that QR code
    parsed = pyotp.parse_uri(uri)  # as an authenticator app reads it
    assert (parsed.secret, parsed.digits, parsed.interval, parsed.name) == (secret, 6, 30, EMAIL)
    assert parsed.digest().name == "sha1"
    assert secret_on(client.get("/login/mfa/totp").get_data(as_text=True)) == secret  # same secret on reload


def test_qr_issuer_names_the_tenant(client, login, app, factory, clock, qr_inputs):
    factory.tenant("beta", company="ベータ合同会社")
    factory.account("beta", email="hanako@beta.example.com")
    set_mode(app, clock, "totp", slug="beta")
    login(email="hanako@beta.example.com")
    client.get("/login/mfa/totp")
    [(uri, _qr)] = qr_inputs
    assert unquote(urlsplit(uri).path) == "/まとめログイン (ベータ合同会社):hanako@beta.example.com"


def test_enrolment_signs_in_with_amr_and_shows_ten_recovery_codes(client, login, app, account_id, clock):
    secret, codes, done = enrol(client, login, clock, next_url="/profile")
    assert done.status_code == 200
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'href="/profile"' in done.get_data(as_text=True)
    assert client.get("/").status_code == 200
    [session] = sessions_of(app, account_id)
    assert session.amr.split() == ["pwd", "otp", "mfa"]
    with app.app_context():
        factor = db.session.scalar(select(MfaFactor).where(MfaFactor.account_id == account_id))
        assert factor.method == "totp" and secret not in factor.totp_secret  # encrypted at rest
        from idp.platform import encryption
        assert encryption.decrypt(factor.totp_secret).decode() == secret  # with the key-encryption key
        stored = db.session.scalars(select(MfaRecoveryCode.code_hash)).all()
        assert len(stored) == 10 and not set(codes) & set(stored)
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "mfa.enrolled")) is not None


def login_again(client, login):
    client.get("/logout")
    page = client.get("/logout")
    client.post("/logout", data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})
    response = login()
    assert response.headers["Location"] == "/login/mfa"
    assert client.get("/login/mfa").headers["Location"] == "/login/mfa/code"


def test_next_login_asks_for_the_code(client, login, app, account_id, clock):
    secret, _codes, _done = enrol(client, login, clock)
    clock.advance(minutes=1)
    login_again(client, login)
    page = client.get("/login/mfa/code").get_data(as_text=True)
    assert "二段階認証" in page and "認証コードを入力してください。" in page
    assert 'name="code"' in page and "確認" in page and "キャンセル" in page
    response = post_form(client, "/login/mfa/code", {"code": totp(secret, clock)})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert sessions_of(app, account_id)[-1].amr == "pwd otp mfa"


@pytest.mark.parametrize("offset, accepted", [(-30, True), (30, True), (-60, False), (60, False)])
def test_clock_drift_of_one_step(client, login, account_id, clock, offset, accepted):
    secret, _codes, _done = enrol(client, login, clock)
    clock.advance(minutes=2)
    login_again(client, login)
    response = post_form(client, "/login/mfa/code", {"code": totp(secret, clock, offset)})
    assert (response.status_code == 302) is accepted
    if not accepted:
        assert "認証コードが正しくありません。" in response.get_data(as_text=True)


def test_a_code_is_refused_the_second_time(client, login, account_id, clock):
    secret, _codes, _done = enrol(client, login, clock)
    clock.advance(seconds=40)
    login_again(client, login)
    code = totp(secret, clock)
    assert post_form(client, "/login/mfa/code", {"code": code}).status_code == 302
    login_again(client, login)  # same 30-second step: the same code
    replay = post_form(client, "/login/mfa/code", {"code": code})
    assert replay.status_code == 200 and "認証コードが正しくありません。" in replay.get_data(as_text=True)
    # also the enrolment code cannot be replayed (it is the step before)
    clock.advance(seconds=30)
    assert post_form(client, "/login/mfa/code", {"code": totp(secret, clock)}).status_code == 302


def test_recovery_code_replaces_a_code_once(client, login, app, account_id, clock):
    _secret, codes, _done = enrol(client, login, clock)
    login_again(client, login)
    assert post_form(client, "/login/mfa/code", {"code": codes[3].upper()}).status_code == 302
    login_again(client, login)
    again = post_form(client, "/login/mfa/code", {"code": codes[3]})
    assert again.status_code == 200 and "認証コードが正しくありません。" in again.get_data(as_text=True)
    assert post_form(client, "/login/mfa/code", {"code": codes[4].replace("-", "")}).status_code == 302


def test_wrong_codes_and_passwords_share_the_lockout(client, login, app, account_id, clock):
    secret, _codes, _done = enrol(client, login, clock)
    client.get("/logout")
    for _ in range(2):
        assert "正しくありません" in login(password="Wrong-Password-1").get_data(as_text=True)
    login_again(client, login)  # the right password does not reset the count: the code is still due
    for _ in range(2):
        assert "認証コードが正しくありません。" in post_form(client, "/login/mfa/code", {"code": "000000"}) \
            .get_data(as_text=True)
    fifth = post_form(client, "/login/mfa/code", {"code": "000000"})
    assert LOCK_MESSAGE in fifth.get_data(as_text=True)
    right = post_form(client, "/login/mfa/code", {"code": totp(secret, clock)})  # even the right code now
    assert right.status_code == 200 and LOCK_MESSAGE in right.get_data(as_text=True)
    assert LOCK_MESSAGE in login().get_data(as_text=True)
    with app.app_context():
        reasons = db.session.scalars(select(LoginEvent.reason).where(LoginEvent.account_id == account_id)
                                     .order_by(LoginEvent.id)).all()
        assert reasons.count("bad_code") == 3 and reasons.count("bad_password") == 2


def test_half_done_login_expires_after_ten_minutes(client, login, account_id, clock):
    login()
    secret = secret_on(client.get("/login/mfa/totp").get_data(as_text=True))
    token = csrf_token_from(client.get("/login/mfa/totp").get_data(as_text=True))
    clock.advance(minutes=10)
    response = client.post("/login/mfa/totp", data={"csrf_token": token, "code": totp(secret, clock)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "認証の有効期限が切れました" in client.get("/login").get_data(as_text=True)
    assert client.get_cookie("idp_sso") is None


def test_cancel_discards_the_half_done_login(client, login, account_id, clock):
    login()
    page = client.get("/login/mfa/totp").get_data(as_text=True)
    secret = secret_on(page)
    response = client.post("/login/mfa/cancel", data={"csrf_token": csrf_token_from(page)})
    assert response.headers["Location"] == "/login"
    again = client.post("/login/mfa/totp", data={"csrf_token": csrf_token_from(page), "code": totp(secret, clock)})
    assert again.headers["Location"] == "/login"
    assert client.get_cookie("idp_sso") is None


def test_code_page_needs_csrf(client, login, account_id, clock):
    login()
    client.get("/login/mfa/totp")
    assert client.post("/login/mfa/totp", data={"code": "123456"}).status_code == 400


def test_without_policy_the_login_is_unchanged(client, login, app, factory, clock, account_id):
    factory.tenant("other")
    factory.account("other", email="hanako@other.example.com")  # acme requires TOTP, other does not
    response = login(email="hanako@other.example.com")
    assert response.headers["Location"] == "/"
