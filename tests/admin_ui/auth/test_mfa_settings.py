"""The user's own MFA page (/mfa): what is enrolled, new recovery codes, enrol again."""
import pytest
from sqlalchemy import select

from conftest import csrf_token_from
from idp.models import AuditEvent
from idp.platform.extensions import db
from tests.support.mfa import recovery_codes_on, secret_on, set_mode, totp


@pytest.fixture
def enrolled(client, login, app, factory, clock):
    factory.tenant()
    factory.account()
    set_mode(app, clock, "totp")
    login()
    page = client.get("/login/mfa/totp").get_data(as_text=True)
    done = client.post("/login/mfa/totp", data={"csrf_token": csrf_token_from(page),
                                                "code": totp(secret_on(page), clock)})
    return recovery_codes_on(done.get_data(as_text=True))


def test_page_shows_the_factor_and_renews_recovery_codes(client, app, enrolled):
    page = client.get("/mfa")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "認証アプリ" in html and "<dd>10</dd>" in html
    renewed = client.post("/mfa/recovery-codes", data={"csrf_token": csrf_token_from(html)})
    codes = recovery_codes_on(renewed.get_data(as_text=True))
    assert len(codes) == 10 and not set(codes) & set(enrolled)
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "mfa.recovery_codes_renewed"))


def test_enrol_again_resets_the_factor(client, login, enrolled):
    html = client.get("/mfa").get_data(as_text=True)
    response = client.post("/mfa/reset", data={"csrf_token": csrf_token_from(html)})
    assert response.headers["Location"] == "/mfa"
    assert "未設定" in client.get("/mfa").get_data(as_text=True)
    client.delete_cookie("idp_sso")
    login()
    assert client.get("/login/mfa").headers["Location"] == "/login/mfa/totp"


def test_needs_csrf_and_a_session(client, enrolled):
    assert client.post("/mfa/reset").status_code == 400
    client.delete_cookie("idp_sso")
    assert client.get("/mfa").headers["Location"].startswith("/login")


def test_password_only_session_cannot_change_it(client, login, factory):
    factory.tenant()
    factory.account()
    login()
    html = client.get("/mfa").get_data(as_text=True)
    assert "未設定" in html and "/mfa/reset" not in html
    token = csrf_token_from(client.get("/logout").get_data(as_text=True))
    assert client.post("/mfa/reset", data={"csrf_token": token}).status_code == 403
