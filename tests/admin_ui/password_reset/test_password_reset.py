"""Password reset through HTTP: /password/forgot, the mailed link, /password/reset/<token>."""
import re
from datetime import date

import pytest
from sqlalchemy import select

from conftest import STRONG_PASSWORD, csrf_token_from
from idp.models import Account, AuditEvent, SsoSession
from idp.platform.extensions import db

EMAIL = "taro@acme.example.com"
UNKNOWN = "ghost@acme.example.com"
NEW_PASSWORD = "Fuji-Mountain-3776"
BASE_URL = "http://127.0.0.1:8000"
SENT = "ご登録のメールアドレスにパスワード再設定のご案内を送信しました。"
SUBJECT = "【まとめログイン】パスワードリセット通知"
GONE = "このリンクは有効期限が切れているか、すでに使用されています。"
RESET_DONE = "パスワードを再設定しました。新しいパスワードでログインしてください。"
LOCKED_MESSAGE = "ログインに連続で失敗したため、このアカウントはロックされています。"


def _request(submit, email=EMAIL):
    return submit("/password/forgot", {"email": email})


def _reset_links(outbox, email=EMAIL):
    """Paths of the reset links mailed to `email` (in no reliable order: mtimes can tie)."""
    links = [link for m in outbox.to(email) if m["Subject"] == SUBJECT for link in outbox.links(m)]
    return [link.removeprefix(BASE_URL) for link in links]


def _link(submit, outbox, email=EMAIL):
    """Request a reset and return the path of the one new link it mailed."""
    before = set(_reset_links(outbox, email))
    _request(submit, email)
    [new] = set(_reset_links(outbox, email)) - before
    return new


def _sign_in(browser, email=EMAIL, password=STRONG_PASSWORD):
    token = csrf_token_from(browser.get("/login").get_data(as_text=True))
    return browser.post("/login", data={"csrf_token": token, "email": email, "password": password})


def _account(app, account_id):
    with app.app_context():
        account = db.session.get(Account, account_id)
        db.session.expunge(account)
        return account


def _anonymised(html, email):
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html).replace(email, "X")


def test_forgot_page_works_without_a_session(client):
    page = client.get("/password/forgot")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="email"' in html and 'name="csrf_token"' in html
    assert client.get_cookie("idp_sso") is None


def test_login_page_link_leads_to_the_forgot_page(client):
    assert 'href="/password/forgot"' in client.get("/login").get_data(as_text=True)


def test_known_unknown_and_disabled_emails_answer_alike(submit, outbox, factory, account_id, hasher_calls):
    """Same status, same page; and no password hashing on any path (no timing difference from argon2)."""
    factory.account(email="jiro@acme.example.com", name="山田 次郎", status="disabled")
    hasher_calls.clear()  # what the three requests do
    answers = {email: _request(submit, email) for email in (EMAIL, UNKNOWN, "jiro@acme.example.com")}
    assert {r.status_code for r in answers.values()} == {200}
    pages = {_anonymised(r.get_data(as_text=True), email) for email, r in answers.items()}
    assert len(pages) == 1
    page = pages.pop()
    assert SENT in page and "X" in page
    assert hasher_calls == []
    assert len(_reset_links(outbox, EMAIL)) == 1
    assert _reset_links(outbox, "jiro@acme.example.com") == []


def test_mail_goes_to_the_registered_address_with_a_link(submit, outbox, account_id):
    response = _request(submit, "  TARO@ACME.example.com ")
    assert SENT in response.get_data(as_text=True)
    mails = outbox.to(EMAIL)
    assert len(mails) == 1
    assert mails[0]["Subject"] == SUBJECT
    body = outbox.body(mails[0])
    assert "山田 太郎 様" in body and "24時間" in body
    [link] = outbox.links(mails[0])
    assert re.fullmatch(re.escape(BASE_URL) + r"/password/reset/[A-Za-z0-9_-]{20,}", link)


@pytest.mark.parametrize("config_overrides", [
    {"IDP_PRODUCT_NAME": "ひとつログイン", "IDP_BASE_URL": "https://idp.example.com"},
])
def test_mail_uses_configured_product_name_and_base_url(submit, outbox, account_id):
    _request(submit)
    [mail] = outbox.to(EMAIL)
    assert mail["Subject"] == "【ひとつログイン】パスワードリセット通知"
    assert outbox.links(mail)[0].startswith("https://idp.example.com/password/reset/")


def test_reset_sets_the_password_and_the_link_is_single_use(app, client, submit, outbox, login, account_id):
    link = _link(submit, outbox)
    page = client.get(link)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert EMAIL in html and 'name="password"' in html and 'name="password_confirm"' in html
    response = submit(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert RESET_DONE in client.get("/login").get_data(as_text=True)
    assert login(password=STRONG_PASSWORD).status_code == 200  # the old password is gone
    assert login(password=NEW_PASSWORD).status_code == 302
    again = client.get(link)
    assert again.status_code == 410
    assert GONE in again.get_data(as_text=True) and 'href="/password/forgot"' in again.get_data(as_text=True)


def test_used_link_cannot_be_posted_again(app, client, submit, outbox, account_id):
    link = _link(submit, outbox)
    token = csrf_token_from(client.get(link).get_data(as_text=True))
    first = client.post(link, data={"csrf_token": token, "password": NEW_PASSWORD,
                                    "password_confirm": NEW_PASSWORD})
    assert first.status_code == 302
    second = client.post(link, data={"csrf_token": token, "password": "Momiji-Autumn-2027",
                                     "password_confirm": "Momiji-Autumn-2027"})
    assert second.status_code == 410
    assert _sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 302


def test_link_expires_after_exactly_24_hours(client, submit, outbox, clock, account_id):
    link = _link(submit, outbox)
    clock.advance(hours=23, minutes=59)
    assert client.get(link).status_code == 200
    clock.advance(minutes=1)
    gone = client.get(link)
    assert gone.status_code == 410 and GONE in gone.get_data(as_text=True)


def test_expiry_applies_to_the_post_too(app, client, submit, outbox, clock, account_id):
    link = _link(submit, outbox)
    token = csrf_token_from(client.get(link).get_data(as_text=True))
    clock.advance(hours=24)
    response = client.post(link, data={"csrf_token": token, "password": NEW_PASSWORD,
                                       "password_confirm": NEW_PASSWORD})
    assert response.status_code == 410
    assert _sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 200


def test_a_new_request_invalidates_the_previous_link(client, submit, outbox, account_id):
    first = _link(submit, outbox)
    second = _link(submit, outbox)
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200


def test_unknown_link(client):
    response = client.get("/password/reset/not-a-real-token")
    assert response.status_code == 410
    assert 'href="/password/forgot"' in response.get_data(as_text=True)


@pytest.mark.parametrize("password, confirm, message", [
    ("Short-1a", "Short-1a", "10文字以上"),
    ("alllowercase123", "alllowercase123", "3種類以上"),
    ("ＦｕｌｌＷｉｄｔｈ－１２３４", "ＦｕｌｌＷｉｄｔｈ－１２３４", "半角英数字と記号のみ"),
    ("Taro-Secret-2026", "Taro-Secret-2026", "メールアドレスの@より前の部分"),
    ("Password123", "Password123", "よく使われているパスワード"),
    (NEW_PASSWORD, NEW_PASSWORD + "x", "確認用のパスワードが一致しません。"),
    ("", "", "10文字以上"),
])
def test_password_policy_on_reset(app, client, submit, outbox, account_id, password, confirm, message):
    link = _link(submit, outbox)
    response = submit(link, {"password": password, "password_confirm": confirm})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert client.get(link).status_code == 200  # the link is still usable
    assert _sign_in(app.test_client()).status_code == 302  # the old password still works


def test_reset_ends_every_session_including_this_browser(app, client, submit, outbox, login, account_id):
    other = app.test_client()
    assert _sign_in(other).status_code == 302
    assert login().status_code == 302
    assert other.get("/").status_code == 200 and client.get("/").status_code == 200
    link = _link(submit, outbox)
    response = submit(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get_cookie("idp_sso") is None
    assert other.get("/").status_code == 302
    assert client.get("/").status_code == 302
    assert client.get("/login").status_code == 200  # shown, not skipped as "already signed in"
    with app.app_context():
        reasons = db.session.scalars(select(SsoSession.end_reason).where(SsoSession.account_id == account_id))
        assert set(reasons) == {"password_reset"}


def test_this_browser_is_logged_out_even_when_signed_in_as_someone_else(app, client, submit, outbox,
                                                                        login, account_id):
    assert login(email="admin@acme.example.com").status_code == 302
    link = _link(submit, outbox)
    assert submit(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}).status_code == 302
    assert client.get("/").status_code == 302
    with app.app_context():
        session = db.session.scalar(select(SsoSession).where(SsoSession.account_id != account_id))
        assert session.ended_at is not None and session.end_reason == "password_reset"


def test_reset_clears_the_lockout(app, client, submit, outbox, login, account_id):
    for _ in range(5):
        login(password="Wrong-Password-99")
    assert LOCKED_MESSAGE in login().get_data(as_text=True)
    link = _link(submit, outbox)
    submit(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    account = _account(app, account_id)
    assert account.failed_login_count == 0 and account.locked_at is None
    assert login(password=NEW_PASSWORD).status_code == 302


def test_audit_events_for_request_and_reset(app, client, submit, outbox, account_id):
    _request(submit, UNKNOWN)
    with app.app_context():
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("password.%"))).all() == []
    link = _link(submit, outbox)
    submit(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("password.%")).order_by(AuditEvent.id)).all()
        assert [(e.action, e.actor_type, e.target_id) for e in events] == [
            ("password.reset_request", "anonymous", account_id),
            ("password.reset", "user", account_id),
        ]
        assert events[0].changes == {"mail_sent": True, "blocked": ""}
        assert events[1].actor_id == account_id
        assert events[1].changes == {"was_locked": False, "activated": False}
        assert events[0].ip == events[1].ip == "127.0.0.1"


@pytest.mark.parametrize("change, blocked", [
    (lambda a: setattr(a, "status", "disabled"), "disabled"),
    (lambda a: setattr(a.tenant, "status", "terminated"), "tenant_terminated"),
    (lambda a: setattr(a, "valid_to", date(2026, 3, 1)), "expired"),
])
def test_account_that_may_not_log_in_gets_no_mail(app, submit, outbox, account_id, change, blocked):
    with app.app_context():
        change(db.session.get(Account, account_id))
        db.session.commit()
    response = _request(submit)
    assert response.status_code == 200 and SENT in response.get_data(as_text=True)
    assert _reset_links(outbox) == []
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "password.reset_request"))
        assert event.changes == {"mail_sent": False, "blocked": blocked}


def test_link_stops_working_when_the_account_is_disabled(app, client, submit, outbox, account_id):
    link = _link(submit, outbox)
    with app.app_context():
        db.session.get(Account, account_id).status = "disabled"
        db.session.commit()
    assert client.get(link).status_code == 410


def test_unactivated_account_is_activated_by_a_reset(app, client, submit, outbox, login, factory):
    factory.tenant()
    account_id, activation_url = factory.account(email="hanako@acme.example.com", name="佐藤 花子",
                                                 password=None)
    assert login(email="hanako@acme.example.com", password=NEW_PASSWORD).status_code == 200
    link = _link(submit, outbox, "hanako@acme.example.com")
    assert submit(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}).status_code == 302
    assert _account(app, account_id).activated is True
    assert login(email="hanako@acme.example.com", password=NEW_PASSWORD).status_code == 302
    # The pending activation link can no longer overwrite the password just set.
    assert client.get(activation_url.removeprefix(BASE_URL)).status_code == 410


def test_forgot_needs_csrf(client, outbox, account_id):
    assert client.post("/password/forgot", data={"email": EMAIL}).status_code == 400
    assert outbox.to(EMAIL) == []


def test_reset_needs_csrf(app, client, submit, outbox, account_id):
    link = _link(submit, outbox)
    response = client.post(link, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert client.get(link).status_code == 200
    assert _sign_in(app.test_client()).status_code == 302


@pytest.mark.parametrize("email, message", [
    ("", "メールアドレスを入力してください。"),
    ("not-an-address", "メールアドレスの形式が正しくありません。"),
])
def test_malformed_email_is_a_form_error(submit, outbox, account_id, email, message):
    response = _request(submit, email)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html and SENT not in html
    assert _reset_links(outbox) == []


class _SlowMailServer:
    """A transport that takes half a second per message, like a distant SMTP server."""

    def __init__(self):
        self.sent = []

    def send(self, message):
        import time
        time.sleep(0.5)
        self.sent.append(message)


@pytest.fixture
def slow_mail_server():
    return _SlowMailServer()


@pytest.mark.parametrize("config_overrides", [{"IDP_MAIL_ASYNC": True}])
def test_known_and_unknown_emails_answer_in_about_the_same_time(app, submit, account_id, slow_mail_server):
    """The page does not wait for the mail server, so its timing does not tell whether a mail went out."""
    import time

    from idp.platform import mail

    def timed(email):
        started = time.perf_counter()
        assert _request(submit, email).status_code == 200
        return time.perf_counter() - started

    mail.flush(app)  # the set-up's mails (the tenant's, the account's) went out before the slow server
    app.extensions["idp_mail"].transport = slow_mail_server
    _request(submit, UNKNOWN)  # warm-up
    known, unknown = timed(EMAIL), timed(UNKNOWN)
    assert known < 0.3 and unknown < 0.3, (known, unknown)
    mail.flush(app)
    assert [m["To"] for m in slow_mail_server.sent] == [EMAIL]
