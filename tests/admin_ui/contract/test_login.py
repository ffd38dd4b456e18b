"""Contract login through HTTP: activation link, login, separate session, logout, reset, lockout."""
import pytest
from sqlalchemy import select

from conftest import csrf_token_from
from idp.models import LoginEvent, Owner
from idp.platform.extensions import db
from tests.support.owners import (OWNER_EMAIL, OWNER_PASSWORD, STRONG_PASSWORD, activate_owner, mailed_links,
                                  owner_login, set_password)

NEW_PASSWORD = "Fuji-Mountain-3776"
BAD = "メールアドレスまたはパスワードが正しくありません。"


@pytest.fixture
def active_owner(acme, submit, outbox):
    activate_owner(submit, outbox)


def test_login_page_links_to_the_contract_login(client):
    assert 'href="/contract/login"' in client.get("/login").get_data(as_text=True)
    page = client.get("/contract/login")
    assert page.status_code == 200 and 'name="password"' in page.get_data(as_text=True)


def test_service_start_mail_carries_a_24h_activation_link(app, acme, client, outbox, clock):
    [mail] = outbox.to(OWNER_EMAIL)
    assert "サービス利用開始通知" in mail["Subject"]
    [path] = mailed_links(outbox, OWNER_EMAIL, "/contract/activate/")
    assert "24時間" in outbox.body(mail)
    clock.advance(hours=23, minutes=59)
    assert client.get(path).status_code == 200
    clock.advance(minutes=1)
    assert client.get(path).status_code == 410


def test_activation_then_login_opens_the_contract_page_only(app, acme, submit, outbox, client):
    response = activate_owner(submit, outbox)
    assert response.headers["Location"].endswith("/contract/login")
    [path] = mailed_links(outbox, OWNER_EMAIL, "/contract/activate/")
    assert client.get(path).status_code == 410  # single use
    response = owner_login(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/contract/")
    cookie = client.get_cookie("idp_owner", path="/contract")
    assert cookie is not None and cookie.http_only
    assert client.get_cookie("idp_sso") is None
    home = client.get("/contract/")
    assert home.status_code == 200 and "ACME株式会社" in home.get_data(as_text=True)
    assert client.get("/").status_code == 302  # the portal still wants a staff login


def test_policy_applies_to_owner_passwords(acme, submit, outbox):
    [path] = mailed_links(outbox, OWNER_EMAIL, "/contract/activate/")
    response = set_password(submit, path, "short")
    assert response.status_code == 200
    assert "パスワードは10文字以上にしてください。" in response.get_data(as_text=True)


def test_not_activated_and_unknown_answer_alike(acme, client):
    first = owner_login(client, OWNER_EMAIL, "Whatever-Pass-1")
    second = owner_login(client, "ghost@acme.example.com", "Whatever-Pass-1")
    assert first.status_code == second.status_code == 200
    assert BAD in first.get_data(as_text=True) and BAD in second.get_data(as_text=True)


def test_staff_credentials_do_not_open_the_contract_login(acme, client):
    response = owner_login(client, "admin@acme.example.com", STRONG_PASSWORD)
    assert response.status_code == 200 and BAD in response.get_data(as_text=True)


def test_session_lasts_10_hours(active_owner, client, clock):
    owner_login(client)
    clock.advance(hours=9, minutes=59)
    assert client.get("/contract/").status_code == 200
    clock.advance(minutes=1)
    response = client.get("/contract/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/contract/login")


def test_logout_asks_for_confirmation(active_owner, client):
    owner_login(client)
    page = client.get("/contract/logout")
    assert page.status_code == 200 and client.get("/contract/").status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    assert client.post("/contract/logout", data={}).status_code == 400  # no CSRF token
    response = client.post("/contract/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/contract/").status_code == 302


def test_five_failures_lock_for_30_minutes(app, active_owner, client, clock):
    for _ in range(5):
        owner_login(client, password="Wrong-Password-1")
    response = owner_login(client)
    assert "ロックされています" in response.get_data(as_text=True)
    clock.advance(minutes=30)
    assert owner_login(client).status_code == 302
    with app.app_context():
        reasons = db.session.scalars(select(LoginEvent.reason).where(LoginEvent.target == "contract")).all()
    assert reasons.count("bad_password") == 5 and "locked" in reasons


def test_unknown_owner_email_locks_too(acme, client):
    for _ in range(5):
        owner_login(client, "ghost@acme.example.com", "Wrong-Password-1")
    assert "ロックされています" in owner_login(client, "ghost@acme.example.com", "x-Wrong-1").get_data(as_text=True)


def _request_reset(submit, email=OWNER_EMAIL):
    return submit("/contract/password/forgot", {"email": email})


def test_reset_link_valid_30_minutes_single_use(app, active_owner, submit, client, outbox, clock):
    owner_login(client)
    page = _request_reset(submit)
    assert "30分以内" in page.get_data(as_text=True)
    [path] = mailed_links(outbox, OWNER_EMAIL, "/contract/password/reset/")
    response = set_password(submit, path, NEW_PASSWORD)
    assert response.status_code == 302
    assert client.get("/contract/").status_code == 302  # the reset ended the owner session
    assert client.get(path).status_code == 410
    assert owner_login(client, password=OWNER_PASSWORD).status_code == 200
    assert owner_login(client, password=NEW_PASSWORD).status_code == 302
    _request_reset(submit)
    [_, second] = mailed_links(outbox, OWNER_EMAIL, "/contract/password/reset/")
    clock.advance(minutes=30)
    assert client.get(second).status_code == 410


def test_reset_request_answers_alike_and_mails_only_owners(acme, submit, outbox):
    known = _request_reset(submit).get_data(as_text=True)
    unknown = _request_reset(submit, "ghost@acme.example.com").get_data(as_text=True)
    staff = _request_reset(submit, "admin@acme.example.com").get_data(as_text=True)
    for page in (known, unknown, staff):
        assert "パスワード再設定のご案内を送信しました" in page
    assert len(mailed_links(outbox, OWNER_EMAIL, "/contract/password/reset/")) == 1
    assert outbox.to("ghost@acme.example.com") == []
    assert mailed_links(outbox, "admin@acme.example.com", "/contract/password/reset/") == []


def test_reset_clears_a_lock(app, active_owner, submit, client, outbox):
    for _ in range(5):
        owner_login(client, password="Wrong-Password-1")
    _request_reset(submit)
    [path] = mailed_links(outbox, OWNER_EMAIL, "/contract/password/reset/")
    set_password(submit, path, NEW_PASSWORD)
    assert owner_login(client, password=NEW_PASSWORD).status_code == 302
    with app.app_context():
        owner = db.session.scalar(select(Owner))
        assert owner.locked_at is None and owner.failed_login_count == 0
