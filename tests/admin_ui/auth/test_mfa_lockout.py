"""The code page and the shared lockout counter (issues 5 and 6): mixed failures, the lock message, auto-unlock."""
import os

import pytest
from sqlalchemy import select

from conftest import STRONG_PASSWORD
from idp.models import Account, LoginEvent, SsoSession
from idp.platform.extensions import db
from tests.support.mfa import SmsOutbox, post_form, secret_on, set_mode, totp

EMAIL = "taro@acme.example.com"
LOCK_MESSAGE = ("ログインに連続で失敗したため、このアカウントはロックされています。"
                "30分後に再度ログインをお試しいただくか、管理者にロック解除をご依頼ください。")
WRONG_CODE = "認証コードが正しくありません。"


def password_step(browser, password=STRONG_PASSWORD):
    return post_form(browser, "/login", {"email": EMAIL, "password": password})


def account_row(app):
    with app.app_context():
        row = db.session.scalar(select(Account).where(Account.email == EMAIL))
        db.session.expunge(row)
        return row


def session_count(app):
    with app.app_context():
        return len(db.session.scalars(select(SsoSession.id)).all())


@pytest.fixture
def enrolled_secret(client, app, factory, clock):
    """taro enrolled TOTP; the browser is signed out again."""
    factory.tenant()
    factory.account()
    set_mode(app, clock, "totp")
    password_step(client)
    secret = secret_on(client.get("/login/mfa/totp").get_data(as_text=True))
    assert post_form(client, "/login/mfa/totp", {"code": totp(secret, clock)}).status_code == 200
    client.delete_cookie("idp_sso")
    clock.advance(minutes=1)
    return secret


def test_lock_from_another_browser_shows_on_the_code_page(client, app, enrolled_secret, clock):
    assert password_step(client).headers["Location"] == "/login/mfa"
    attacker = app.test_client()
    for _ in range(5):
        password_step(attacker, "Wrong-Password-1")
    assert account_row(app).locked_at == clock.now()
    page = client.get("/login/mfa/code")
    assert page.status_code == 200  # the half-done login is still there, but the code is refused
    right = post_form(client, "/login/mfa/code", {"code": totp(enrolled_secret, clock)})
    assert right.status_code == 200 and LOCK_MESSAGE in right.get_data(as_text=True)
    assert client.get_cookie("idp_sso") is None
    assert session_count(app) == 1  # only the enrolment's session: the refused code opened none
    clock.advance(minutes=29, seconds=59)
    assert LOCK_MESSAGE in password_step(client).get_data(as_text=True)
    clock.advance(seconds=1)  # 30 minutes: the lock lifts by itself
    assert password_step(client).headers["Location"] == "/login/mfa"
    done = post_form(client, "/login/mfa/code", {"code": totp(enrolled_secret, clock)})
    assert done.headers["Location"] == "/"
    assert account_row(app).failed_login_count == 0 and account_row(app).locked_at is None


def test_success_with_the_code_resets_the_counter(client, app, enrolled_secret, clock):
    for _ in range(2):
        password_step(client, "Wrong-Password-1")
    password_step(client)
    for _ in range(2):
        assert WRONG_CODE in post_form(client, "/login/mfa/code", {"code": "000000"}).get_data(as_text=True)
    assert account_row(app).failed_login_count == 4
    assert post_form(client, "/login/mfa/code", {"code": totp(enrolled_secret, clock)}).headers["Location"] == "/"
    assert account_row(app).failed_login_count == 0
    client.delete_cookie("idp_sso")
    clock.advance(minutes=1)
    for _ in range(4):
        password_step(client, "Wrong-Password-1")
    assert account_row(app).locked_at is None  # 4 after the success: not locked


def test_wrong_sms_codes_and_passwords_lock_together(client, app, factory, clock):
    factory.tenant()
    factory.account(mobile="09012345678")
    set_mode(app, clock, "sms")
    outbox = SmsOutbox(os.path.join(app.config["IDP_INSTANCE_DIR"], "sms"))
    for _ in range(2):
        password_step(client, "Wrong-Password-1")
    assert password_step(client).headers["Location"] == "/login/mfa"
    post_form(client, "/login/mfa/sms")
    code = outbox.last_code()
    wrong = "%06d" % ((int(code) + 1) % 1000000)
    for _ in range(2):
        assert WRONG_CODE in post_form(client, "/login/mfa/code", {"code": wrong}).get_data(as_text=True)
    fifth = post_form(client, "/login/mfa/code", {"code": wrong})
    assert LOCK_MESSAGE in fifth.get_data(as_text=True)
    right = post_form(client, "/login/mfa/code", {"code": code})
    assert LOCK_MESSAGE in right.get_data(as_text=True) and client.get_cookie("idp_sso") is None
    assert account_row(app).locked_at == clock.now()


@pytest.mark.parametrize("config_overrides", [{"IDP_RATELIMIT_CODE_ACCOUNT": "3/minute"}])
def test_code_entries_are_rate_limited(client, app, enrolled_secret, clock):
    """The enrolment's code was the first entry (the limiter counts in real time, not the test clock)."""
    password_step(client)
    for _ in range(2):
        assert post_form(client, "/login/mfa/code", {"code": "000000"}).status_code == 200
    refused = post_form(client, "/login/mfa/code", {"code": totp(enrolled_secret, clock)})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert client.get_cookie("idp_sso") is None
    with app.app_context():
        [event] = db.session.scalars(select(LoginEvent).where(LoginEvent.reason == "rate_limited")).all()
        assert event.account_id == account_row(app).id
    assert account_row(app).failed_login_count == 2  # the refused entry was not even checked
