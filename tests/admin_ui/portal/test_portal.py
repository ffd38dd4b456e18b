"""The user portal: tiles by group, profile view/edit, password change."""
import pytest
from sqlalchemy import select

from conftest import STRONG_PASSWORD, csrf_token_from
from idp.apps import catalogue as apps
from idp.directory.groups import default_group, get_by_name
from idp.logs.audit import OPERATOR
from idp.models import Account, AuditEvent, SsoSession
from idp.platform.extensions import db
from idp.tenancy import tenants

EMAIL = "taro@acme.example.com"


@pytest.fixture
def account_id(factory):
    factory.tenant()
    factory.group("acme", "営業")
    return factory.account()[0]


def _add_app(app, clock, slug, name, group_name=None):
    with app.app_context():
        tenant = tenants.get_by_slug(slug)
        group = get_by_name(tenant, group_name) if group_name else default_group(tenant)
        apps.create_bookmark_app(tenant, name=name, launch_url=f"https://{slug}.example.net/{name}",
                                 groups=[group], now=clock.now(), actor=OPERATOR)
        db.session.commit()


def test_home_shows_only_the_apps_of_the_users_group(client, login, app, clock, factory, account_id):
    factory.tenant(slug="other", company="Other Inc.")
    _add_app(app, clock, "acme", "Mail")
    _add_app(app, clock, "acme", "Payroll", "営業")
    _add_app(app, clock, "other", "Foreign")
    login()
    html = client.get("/").get_data(as_text=True)
    assert 'href="https://acme.example.net/Mail"' in html
    assert "Payroll" not in html and "Foreign" not in html


def test_moving_a_user_to_another_group_changes_the_tiles(client, login, app, clock, account_id):
    _add_app(app, clock, "acme", "Payroll", "営業")
    login()
    assert "Payroll" not in client.get("/").get_data(as_text=True)
    with app.app_context():
        account = db.session.get(Account, account_id)
        account.group_id = get_by_name(account.tenant, "営業").id
        db.session.commit()
    assert "Payroll" in client.get("/").get_data(as_text=True)


def test_home_without_apps_says_so(client, login, account_id):
    login()
    assert "利用できるアプリはありません。" in client.get("/").get_data(as_text=True)


def test_menu_links(client, login, account_id):
    login()
    html = client.get("/").get_data(as_text=True)
    for href in ('href="/"', 'href="/profile"', 'href="/password"', 'href="https://help.example.com/"',
                 'href="/logout"'):
        assert href in html


def test_profile_shows_the_account(client, login, account_id):
    login()
    html = client.get("/profile").get_data(as_text=True)
    for text in ("ACME株式会社", EMAIL, "山田 太郎"):
        assert text in html


def test_profile_edit_saves_and_audits(client, login, submit, app, account_id):
    login()
    response = submit("/profile/edit", {"name": "山田 花子", "phone": "0312345678", "mobile": "09012345678",
                                        "organization": "本社", "department": "総務部",
                                        "email": "changed@evil.example.com"})
    assert response.status_code == 302 and response.headers["Location"] == "/profile"
    html = client.get("/profile").get_data(as_text=True)
    assert "プロフィールを更新しました。" in html and "09012345678" in html
    with app.app_context():
        account = db.session.get(Account, account_id)
        assert (account.name, account.phone, account.department) == ("山田 花子", "0312345678", "総務部")
        assert account.email == EMAIL  # read-only
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "profile.update"))
        assert event.actor_id == account_id and event.changes["name"] == ["山田 太郎", "山田 花子"]


@pytest.mark.parametrize("field, value, message", [
    ("phone", "03-1234", "市外局番から10〜15桁の数字"),
    ("mobile", "０３１２３４５６７８", "070・080・090で始まる11桁"),
    ("phone", "123", "市外局番から10〜15桁の数字"),
    ("name", "", "名前を入力してください。"),
    ("organization", "x" * 201, "200文字以内で入力してください。"),
])
def test_profile_edit_rejects_bad_input(client, login, submit, app, account_id, field, value, message):
    login()
    data = {"name": "山田 太郎", "phone": "", "mobile": "", "organization": "", "department": ""}
    data[field] = value
    response = submit("/profile/edit", data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Account, account_id).name == "山田 太郎"


def test_profile_edit_cleans_phone_numbers(client, login, submit, app, account_id):
    login()
    response = submit("/profile/edit", {"name": "山田 太郎", "phone": "０３ １２３４ ５６７８", "mobile": "9012345678",
                                        "organization": "", "department": ""})
    assert response.status_code == 302
    html = client.get("/profile").get_data(as_text=True)
    assert "<dd>0312345678</dd>" in html and "<dd>09012345678</dd>" in html


def test_profile_edit_needs_csrf(client, login, account_id):
    login()
    assert client.post("/profile/edit", data={"name": "x"}).status_code == 400


def test_password_change_keeps_this_session_and_ends_others(app, client, login, submit, account_id):
    other = app.test_client()
    token = csrf_token_from(other.get("/login").get_data(as_text=True))
    other.post("/login", data={"csrf_token": token, "email": EMAIL, "password": STRONG_PASSWORD})
    login()
    response = submit("/password", {"current_password": STRONG_PASSWORD, "password": "Momiji-Autumn-2027",
                                    "password_confirm": "Momiji-Autumn-2027"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    assert login(password=STRONG_PASSWORD).status_code == 200  # old password no longer works
    assert login(password="Momiji-Autumn-2027").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "password.change"))
        reasons = set(db.session.scalars(select(SsoSession.end_reason)))
        assert "password_change" in reasons


@pytest.mark.parametrize("current, new, confirm, message", [
    ("Wrong-Password-1", "Momiji-Autumn-2027", "Momiji-Autumn-2027", "現在のパスワードが正しくありません。"),
    (STRONG_PASSWORD, "short1A!", "short1A!", "10文字以上"),
    (STRONG_PASSWORD, "Momiji-Autumn-2027", "Momiji-Autumn-2028", "確認用のパスワードが一致しません。"),
    (STRONG_PASSWORD, STRONG_PASSWORD, STRONG_PASSWORD, "現在のパスワードと異なるもの"),
])
def test_password_change_errors(client, login, submit, account_id, current, new, confirm, message):
    login()
    response = submit("/password", {"current_password": current, "password": new, "password_confirm": confirm})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert login(password=STRONG_PASSWORD).status_code == 302


def test_wrong_current_passwords_count_towards_the_lockout(app, client, login, submit, account_id, clock):
    """A stolen session cannot guess the password without limit: five wrong ones lock the account."""
    login()
    change = {"password": "Momiji-Autumn-2027", "password_confirm": "Momiji-Autumn-2027"}
    for attempt in range(5):
        page = submit("/password", {"current_password": f"Wrong-Password-{attempt}", **change})
        assert page.status_code == 200
    assert "ロックされています" in page.get_data(as_text=True)
    with app.app_context():
        account = db.session.get(Account, account_id)
        assert account.locked_at is not None and account.failed_login_count == 5
    refused = submit("/password", {"current_password": STRONG_PASSWORD, **change})  # the right one, too late
    assert refused.status_code == 200 and "ロックされています" in refused.get_data(as_text=True)
    assert login(password=STRONG_PASSWORD).status_code == 200  # the login page shows the lock as well
    clock.advance(minutes=31)
    login()
    assert submit("/password", {"current_password": STRONG_PASSWORD, **change}).status_code == 302
    with app.app_context():
        account = db.session.get(Account, account_id)
        assert account.locked_at is None and account.failed_login_count == 0
