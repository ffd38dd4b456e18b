"""Passkey pages and JSON endpoints without an authenticator: what the pages offer, the 4xx of the JSON
endpoints, policy `passkey` at login, deleting a passkey, the admin reset and the console's policy choice.
(Ceremonies with recorded responses: tests/idp/authn/mfa/test_passkeys.py; Chromium: the browser tests.)"""
import re

import pytest
from sqlalchemy import select

from conftest import csrf_token_from
from idp.models import Account, AuditEvent, MfaFactor
from idp.models.passkey import Passkey
from idp.platform.extensions import db
from tests.support.mfa import post_form, secret_on, set_mode, totp

TARO = "taro@acme.example.com"
META_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
JSON_POSTS = ["/mfa/passkeys/options", "/mfa/passkeys", "/mfa/passkeys/reauth/options", "/login/passkey/options",
              "/login/passkey", "/t/acme/login/passkey/options", "/t/acme/login/passkey", "/mfa/passkey/options",
              "/mfa/passkey", "/login/mfa/passkey-enrol"]


@pytest.fixture
def taro_id(factory):
    factory.tenant()
    return factory.account()[0]


def add_passkey(app, clock, account_id, credential_id=b"credential-1", name="iPhone"):
    with app.app_context():
        account = db.session.get(Account, account_id)
        passkey = Passkey(tenant_id=account.tenant_id, account_id=account.id, credential_id=credential_id,
                          public_key=b"not-a-key", sign_count=0, transports="", aaguid="", backed_up=False,
                          name=name, created_at=clock.now())
        db.session.add(passkey)
        db.session.commit()
        return passkey.id


def passkey_names(app):
    with app.app_context():
        return sorted(db.session.scalars(select(Passkey.name)))


def token_of(client, url):
    html = client.get(url).get_data(as_text=True)
    match = META_RE.search(html)
    return match.group(1) if match else csrf_token_from(html)


@pytest.mark.parametrize("url", ["/login", "/t/acme/login"])
def test_the_login_page_offers_the_passkey(client, taro_id, url):
    html = client.get(url).get_data(as_text=True)
    assert '<button type="button" id="passkey-login">パスキーでログイン</button>' in html
    assert 'autocomplete="username webauthn"' in html and 'id="passkey-error"' in html
    assert '<script src="/static/passkeys.js" defer></script>' in html and "<script>" not in html
    assert f'data-options-url="{url}/passkey/options"' in html and f'data-submit-url="{url}/passkey"' in html
    assert client.get("/static/passkeys.js").status_code == 200


@pytest.mark.parametrize("url", JSON_POSTS)
def test_json_endpoints_refuse_a_post_without_the_csrf_header(client, taro_id, url):
    assert client.post(url, json={}).status_code == 400


@pytest.mark.parametrize("url", ["/mfa/passkeys/options", "/mfa/passkeys", "/mfa/passkeys/reauth/options",
                                 "/mfa/passkey/options", "/mfa/passkey", "/login/mfa/passkey-enrol"])
def test_json_endpoints_need_a_session_or_a_half_done_login(client, taro_id, url):
    response = client.post(url, json={"credential": {}}, headers={"X-CSRFToken": token_of(client, "/login")})
    assert response.status_code == 401 and response.json["error"] == "signed_out"
    assert "ログイン" in response.json["message"]


def test_bad_json_foreign_origins_and_unknown_challenges_get_a_clear_4xx(client, taro_id):
    headers = {"X-CSRFToken": token_of(client, "/login")}
    not_json = client.post("/login/passkey", data="{oops", content_type="application/json", headers=headers)
    assert not_json.status_code == 400 and not_json.json["error"] == "bad_request"
    no_credential = client.post("/login/passkey", json={"credential": "x"}, headers=headers)
    assert no_credential.status_code == 400 and no_credential.json["error"] == "bad_request"
    foreign = client.post("/login/passkey/options", json={}, headers={**headers, "Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert client.get("/login/passkey/options").status_code == 405
    assert client.post("/t/nobody/login/passkey/options", json={}, headers=headers).status_code == 404
    bogus = {"id": "AA", "rawId": "AA", "type": "public-key",
             "response": {"clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiQUEiLCJvcmlnaW4iOiJ4In0"}}
    refused = client.post("/login/passkey", json={"credential": bogus, "next": "https://evil.example/"},
                          headers=headers)
    assert refused.status_code == 400 and refused.json["error"] == "challenge" and refused.json["message"]
    assert client.get_cookie("idp_sso") is None


def test_options_for_a_login(client, taro_id):
    response = client.post("/t/acme/login/passkey/options", json={},
                           headers={"X-CSRFToken": token_of(client, "/t/acme/login")})
    assert response.status_code == 200
    assert response.json["rpId"] == "127.0.0.1" and response.json["allowCredentials"] == []
    assert response.json["userVerification"] == "required"


def test_the_mfa_page_lists_and_registers_passkeys(client, login, app, clock, taro_id):
    add_passkey(app, clock, taro_id)
    login()
    html = client.get("/mfa").get_data(as_text=True)
    assert 'id="passkeys"' in html and "<h2 id=\"passkeys-heading\">パスキー</h2>" in html
    assert 'class="passkey-row" data-id="' in html and "iPhone" in html and "未使用" in html
    assert "作成日時" in html and "最終使用日時" in html and 'class="passkey-delete' in html
    # policy off, a password session and no factor yet: nothing stronger to ask for, so it may register
    assert 'id="passkey-name"' not in html  # ... but taro has a passkey already: a passkey login first
    assert "パスキーを登録するには、二段階認証またはパスキーでログインし直してください。" in html
    response = client.post("/mfa/passkeys/options", json={}, headers={"X-CSRFToken": token_of(client, "/mfa")})
    assert response.status_code == 403 and response.json["error"] == "forbidden"


def test_a_password_session_registers_the_first_passkey_when_mfa_is_off(client, login, taro_id):
    login()
    html = client.get("/mfa").get_data(as_text=True)
    assert 'id="passkey-name"' in html and 'id="passkey-register"' in html and 'id="passkey-message"' in html
    options = client.post("/mfa/passkeys/options", json={}, headers={"X-CSRFToken": token_of(client, "/mfa")})
    assert options.status_code == 200 and options.json["user"]["name"] == TARO
    broken = client.post("/mfa/passkeys", json={"name": "PC", "credential": {"response": {}}},
                         headers={"X-CSRFToken": token_of(client, "/mfa")})
    assert broken.status_code == 400 and broken.json["error"] == "verification"


def test_policy_passkey_sends_the_first_login_to_the_enrolment(client, login, app, clock, taro_id):
    set_mode(app, clock, "passkey")
    assert login().headers["Location"] == "/login/mfa"
    assert client.get("/login/mfa").headers["Location"] == "/login/mfa/passkey-enrol"
    html = client.get("/login/mfa/passkey-enrol").get_data(as_text=True)
    assert 'id="passkey-register"' in html and 'id="passkey-name"' in html and "パスキーの登録" in html
    assert client.get("/login/mfa/code").headers["Location"] == "/login/mfa"
    assert client.get("/").headers["Location"].startswith("/login")  # no session yet
    options = client.post("/mfa/passkey/options", json={},
                          headers={"X-CSRFToken": token_of(client, "/login/mfa/passkey-enrol")})
    assert options.status_code == 200 and options.json["user"]["name"] == TARO
    assert options.json["authenticatorSelection"]["residentKey"] == "required"


def test_policy_any_offers_a_passkey_as_the_first_factor(client, login, app, clock, taro_id):
    set_mode(app, clock, "any")
    assert login().headers["Location"] == "/login/mfa"
    assert client.get("/login/mfa").headers["Location"] == "/login/mfa/choose"
    html = client.get("/login/mfa/choose").get_data(as_text=True)
    for method, label in (("totp", "認証アプリ"), ("sms", "SMS"), ("passkey", "パスキー")):
        assert f'name="method" value="{method}"' in html and f">{label}</button>" in html
    assert post_form(client, "/login/mfa/choose", {"method": "passkey"}).headers["Location"] == "/login/mfa"
    assert client.get("/login/mfa").headers["Location"] == "/login/mfa/passkey-enrol"
    html = client.get("/login/mfa/passkey-enrol").get_data(as_text=True)
    assert 'id="passkey-register"' in html and "次回からはパスワードの後にパスキーで確認します。" in html
    assert "このアカウントではパスキーが必要です。" not in html  # chosen, not required by the policy
    assert client.get("/").headers["Location"].startswith("/login")  # no session before the passkey
    options = client.post("/mfa/passkey/options", json={},
                          headers={"X-CSRFToken": token_of(client, "/login/mfa/passkey-enrol")})
    assert options.status_code == 200 and options.json["user"]["name"] == TARO
    assert options.json["authenticatorSelection"]["residentKey"] == "required"
    assert client.get("/login/mfa/choose").headers["Location"] == "/login/mfa"  # past the choice


def test_policy_any_still_refuses_an_unknown_method(client, login, app, clock, taro_id):
    set_mode(app, clock, "any")
    login()
    refused = post_form(client, "/login/mfa/choose", {"method": "email"})
    assert refused.status_code == 409  # the half-done login's refusal of a step it is not at
    assert client.get("/login/mfa").headers["Location"] == "/login/mfa/choose"


def test_policy_passkey_checks_the_old_factor_before_enrolling(client, login, app, clock, taro_id):
    set_mode(app, clock, "totp")
    login()
    secret = secret_on(client.get("/login/mfa/totp").get_data(as_text=True))
    post_form(client, "/login/mfa/totp", {"code": totp(secret, clock)})
    client.delete_cookie("idp_sso")
    set_mode(app, clock, "passkey")
    clock.advance(minutes=1)
    login()
    assert client.get("/login/mfa").headers["Location"] == "/login/mfa/code"  # the authenticator app first
    assert 'name="code"' in client.get("/login/mfa/code").get_data(as_text=True)
    response = post_form(client, "/login/mfa/code", {"code": totp(secret, clock)})
    assert response.headers["Location"] == "/login/mfa"
    assert client.get("/login/mfa").headers["Location"] == "/login/mfa/passkey-enrol"


def test_with_a_passkey_the_code_page_offers_it(client, login, app, clock, taro_id):
    add_passkey(app, clock, taro_id)
    set_mode(app, clock, "passkey")
    login()
    assert client.get("/login/mfa").headers["Location"] == "/login/mfa/code"
    html = client.get("/login/mfa/code").get_data(as_text=True)
    assert '<button type="button" id="passkey-verify" class="primary">パスキーで確認</button>' in html
    assert 'name="code"' not in html  # policy passkey: the passkey only
    options = client.post("/mfa/passkey/options", json={}, headers={"X-CSRFToken": token_of(client, "/login/mfa/code")})
    assert options.status_code == 200 and len(options.json["allowCredentials"]) == 1
    with app.app_context():  # an authenticator app too, and the policy asks for it: the code page has both
        from idp.authn.mfa.totp import encrypt_secret, new_secret
        db.session.add(MfaFactor(tenant_id=db.session.get(Account, taro_id).tenant_id, account_id=taro_id,
                                 method="totp", totp_secret=encrypt_secret(new_secret()), enrolled_at=clock.now()))
        db.session.commit()
    set_mode(app, clock, "totp")
    html = client.get("/login/mfa/code").get_data(as_text=True)
    assert 'name="code"' in html and 'id="passkey-verify"' in html


def _delete(client, passkey_id, **data):
    token = csrf_token_from(client.get("/mfa").get_data(as_text=True))
    return client.post(f"/mfa/passkeys/{passkey_id}/delete", data={"csrf_token": token, **data})


def test_deleting_a_passkey_needs_the_password(client, login, app, clock, taro_id, factory):
    from conftest import STRONG_PASSWORD
    passkey_id = add_passkey(app, clock, taro_id)
    hanako_id = factory.account(email="hanako@acme.example.com", name="佐藤 花子")[0]
    hanakos = add_passkey(app, clock, hanako_id, b"credential-2", "花子のPC")
    login()
    assert client.post(f"/mfa/passkeys/{passkey_id}/delete", data={"password": STRONG_PASSWORD}).status_code == 400
    wrong = _delete(client, passkey_id, password="not-my-password")
    assert wrong.status_code == 302 and wrong.headers["Location"] == "/mfa#passkeys"
    assert "パスワードが正しくありません。" in client.get("/mfa").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Account, taro_id).failed_login_count == 1
    assert passkey_names(app) == ["iPhone", "花子のPC"]
    assert _delete(client, hanakos, password=STRONG_PASSWORD).status_code == 404  # not taro's
    done = _delete(client, passkey_id, password=STRONG_PASSWORD)
    assert done.headers["Location"] == "/mfa#passkeys"
    assert "パスキーを削除しました。" in client.get("/mfa").get_data(as_text=True)
    assert passkey_names(app) == ["花子のPC"]
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "passkey.deleted")).target_id == taro_id


def test_the_admin_reset_removes_the_passkeys(client, login, app, clock, taro_id):
    add_passkey(app, clock, taro_id)
    add_passkey(app, clock, taro_id, b"credential-2", "Pixel")
    login(email="admin@acme.example.com")
    page = f"/admin/accounts/{taro_id}"
    html = client.get(page).get_data(as_text=True)
    assert "二段階認証リセット" in html  # passkeys alone are something to reset
    token = csrf_token_from(html)
    response = client.post(f"{page}/reset-mfa", data={"csrf_token": token, "confirm": "1"})
    assert response.status_code == 302
    assert passkey_names(app) == []


def test_the_console_offers_the_passkey_policy(client, login, app, clock, taro_id):
    from idp.authn.mfa import policy
    from idp.tenancy import tenants
    login(email="admin@acme.example.com")
    html = client.get("/admin/security").get_data(as_text=True)
    assert '<option value="passkey" >パスキー（必須）</option>' in html
    token = csrf_token_from(html)
    assert client.post("/admin/security/mfa", data={"csrf_token": token, "mode": "passkey"}).status_code == 302
    with app.app_context():
        assert policy.get_policy(tenants.get_by_slug("acme")) == "passkey"


def test_after_activation_the_login_leads_to_the_passkey_registration(client, submit, factory, outbox):
    factory.tenant()
    _id, url = factory.account(email="hanako@acme.example.com", name="佐藤 花子", password=None)
    link = url.removeprefix("http://127.0.0.1:8000")
    submit(link, {"password": "Fuji-Mountain-3776", "password_confirm": "Fuji-Mountain-3776"})
    html = client.get("/login").get_data(as_text=True)
    assert 'id="passkey-offer"' in html and 'name="next" value="/mfa#passkeys"' in html
    assert 'id="passkey-offer"' not in client.get("/login").get_data(as_text=True)  # once
    token = csrf_token_from(html)
    response = client.post("/login", data={"csrf_token": token, "email": "hanako@acme.example.com",
                                           "password": "Fuji-Mountain-3776", "next": "/mfa#passkeys"})
    assert response.headers["Location"] == "/mfa#passkeys"
    assert 'id="passkey-register"' in client.get("/mfa").get_data(as_text=True)
