"""Login page, SSO session cookie, logout, CSRF and the no-enumeration rule, through HTTP."""
import re
from datetime import date

import pytest
from sqlalchemy import select

from conftest import STRONG_PASSWORD
from idp.models import Account, LoginEvent, SsoSession
from idp.platform.extensions import db

GENERIC_ERROR = "メールアドレスまたはパスワードが正しくありません。"
EMAIL = "taro@acme.example.com"


def _without_csrf(html):
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


def test_login_page_has_fields_and_links(client, app):
    page = client.get("/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="email"' in html and 'name="password"' in html
    assert "パスワードを忘れた方はこちら" in html
    assert 'href="/contract/login"' in html and "契約管理のログインはこちら" in html
    assert 'href="https://help.example.com/"' in html and "ログインにお困りの方はこちら" in html


def test_successful_login_lands_on_portal_and_records_event(client, login, app, account_id, clock):
    response = login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    cookie = client.get_cookie("idp_sso")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    portal = client.get("/")
    assert portal.status_code == 200
    assert "山田 太郎" in portal.get_data(as_text=True)
    with app.app_context():
        account = db.session.get(Account, account_id)
        assert account.last_login_at == clock.now()
        events = db.session.scalars(select(LoginEvent).where(LoginEvent.account_id == account_id)).all()
        assert [(e.result, e.target) for e in events] == [("success", "portal")]


def test_wrong_password_and_unknown_email_answer_alike(client, login, app, account_id, hasher_calls):
    wrong = login(password="Wrong-Password-99")
    unknown = login(email="nobody@acme.example.com", password="Wrong-Password-99")
    assert wrong.status_code == unknown.status_code == 200
    wrong_html, unknown_html = wrong.get_data(as_text=True), unknown.get_data(as_text=True)
    assert GENERIC_ERROR in wrong_html
    # Same page apart from the echoed email and the CSRF token.
    assert _without_csrf(wrong_html).replace(EMAIL, "X") == \
        _without_csrf(unknown_html).replace("nobody@acme.example.com", "X")
    assert hasher_calls.count("verify") == 2  # one argon2 verification each, known account or not
    assert client.get_cookie("idp_sso") is None
    with app.app_context():
        reasons = db.session.scalars(select(LoginEvent.reason).order_by(LoginEvent.id)).all()
        assert reasons == ["bad_password", "unknown_account"]


def test_email_is_case_insensitive(login, account_id):
    assert login(email="TARO@Acme.Example.com").status_code == 302


@pytest.mark.parametrize("change, message", [
    (lambda a: setattr(a, "status", "disabled"), "このアカウントは現在ご利用いただけません"),
    (lambda a: setattr(a, "valid_to", date(2026, 3, 31)), "このアカウントは現在ご利用いただけません"),
    (lambda a: setattr(a, "valid_from", date(2026, 4, 2)), "このアカウントは現在ご利用いただけません"),
    (lambda a: setattr(a.tenant, "status", "terminated"), "ご契約が終了しているため、ログインできません。"),
])
def test_accounts_that_may_not_log_in(app, login, account_id, change, message):
    with app.app_context():
        change(db.session.get(Account, account_id))
        db.session.commit()
    response = login()
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_wrong_password_on_blocked_account_gives_generic_message(app, login, account_id):
    with app.app_context():
        db.session.get(Account, account_id).status = "disabled"
        db.session.commit()
    html = login(password="Wrong-Password-99").get_data(as_text=True)
    assert GENERIC_ERROR in html and "ご利用いただけません" not in html


def test_validity_dates_are_japan_dates(app, login, account_id, clock):
    # 2026-04-01 00:00 UTC is 09:00 on 1 April in Japan: valid_to = 1 April still allows login.
    with app.app_context():
        db.session.get(Account, account_id).valid_to = date(2026, 4, 1)
        db.session.commit()
    assert login().status_code == 302
    clock.advance(hours=15)  # 2026-04-02 00:00 in Japan
    assert login().status_code == 200


def test_unactivated_account_cannot_log_in(factory, login):
    factory.tenant()
    factory.account(email="new@acme.example.com", password=None)
    response = login(email="new@acme.example.com", password=STRONG_PASSWORD)
    assert response.status_code == 200
    assert GENERIC_ERROR in response.get_data(as_text=True)


def test_login_without_csrf_token_is_rejected(client, account_id):
    response = client.post("/login", data={"email": EMAIL, "password": STRONG_PASSWORD})
    assert response.status_code == 400
    assert client.get_cookie("idp_sso") is None


@pytest.mark.parametrize("next_url, expected", [
    ("/profile", "/profile"),
    ("/profile?tab=1", "/profile?tab=1"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example/", "/"),
    ("javascript:alert(1)", "/"),
    ("", "/"),
])
def test_next_is_only_followed_to_local_paths(login, account_id, next_url, expected):
    response = login(next_url=next_url)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_live_session_goes_straight_through(client, login, account_id):
    login()
    response = client.get("/login?next=/profile")
    assert response.status_code == 302
    assert response.headers["Location"] == "/profile"


def test_protected_page_redirects_to_login_with_next(client, account_id):
    response = client.get("/profile")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/profile"


def test_session_id_rotates_at_login(client, login, app, account_id):
    login()
    first = client.get_cookie("idp_sso").value
    login()
    second = client.get_cookie("idp_sso").value
    assert first != second
    with app.app_context():
        rows = db.session.scalars(select(SsoSession).order_by(SsoSession.id)).all()
        assert [r.end_reason for r in rows] == ["replaced", ""]
        assert first not in {r.token_hash for r in rows}  # only digests are stored


def test_session_lasts_ten_hours(client, login, account_id, clock):
    login()
    clock.advance(hours=9, minutes=59)
    assert client.get("/").status_code == 200
    clock.advance(minutes=1)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_several_sessions_per_account(app, account_id):
    from conftest import csrf_token_from
    browsers = [app.test_client(), app.test_client()]
    for browser in browsers:
        token = csrf_token_from(browser.get("/login").get_data(as_text=True))
        browser.post("/login", data={"csrf_token": token, "email": EMAIL, "password": STRONG_PASSWORD})
    assert all(b.get("/").status_code == 200 for b in browsers)
    token = csrf_token_from(browsers[0].get("/logout").get_data(as_text=True))
    browsers[0].post("/logout", data={"csrf_token": token})
    assert browsers[0].get("/").status_code == 302
    assert browsers[1].get("/").status_code == 200


def test_logout_asks_then_ends_session_on_post(client, login, submit, app, account_id):
    login()
    page = client.get("/logout")
    assert page.status_code == 200
    assert "ログアウトしますか？" in page.get_data(as_text=True)
    assert client.get("/").status_code == 200  # GET alone logs nobody out
    response = submit("/logout", {})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.get_cookie("idp_sso") is None
    assert client.get("/").status_code == 302
    with app.app_context():
        session = db.session.scalar(select(SsoSession))
        assert session.ended_at is not None and session.end_reason == "logout"


def test_logout_without_csrf_is_rejected(client, login, account_id):
    login()
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("change", [
    lambda a: setattr(a, "status", "disabled"),
    lambda a: setattr(a, "valid_to", date(2026, 3, 1)),
    lambda a: setattr(a.tenant, "status", "terminated"),
])
def test_existing_session_stops_when_account_may_no_longer_log_in(client, login, app, account_id, change):
    login()
    with app.app_context():
        change(db.session.get(Account, account_id))
        db.session.commit()
    assert client.get("/").status_code == 302


def test_cookie_from_another_browser_is_not_guessable(client, login, account_id):
    login()
    client.set_cookie("idp_sso", "forged-value")
    assert client.get("/").status_code == 302


def test_previous_login_time_shown(client, login, account_id, clock):
    login()
    clock.advance(days=1)
    login()
    html = client.get("/profile").get_data(as_text=True)
    assert "2026/04/01 09:00" in html  # the first login, in Japan time
