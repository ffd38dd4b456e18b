"""Logs › メール送信エラー: the admin sees the mail of their own tenant that could not be delivered (given up,
or waiting for a retry), never another tenant's, and never a message's text."""
import pytest

from idp.directory import accounts
from idp.logs.audit import OPERATOR
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.admin_ui.admin.conftest import ADMIN_EMAIL
from tests.idp.platform.test_outbox import FlakyTransport, _deliver_due


@pytest.fixture
def transport():
    return FlakyTransport()


@pytest.fixture
def config_overrides(transport):
    return {"IDP_MAIL": transport}


def _create_account(app, clock, slug, email):
    with app.app_context():
        created = accounts.create_account(tenants.get_by_slug(slug), accounts.NewAccount(email=email, name="佐藤 花子"),
                                          now=clock.now(), actor=OPERATOR)
        db.session.commit()
        return created.activation_url


def test_the_page_lists_this_tenants_undelivered_mail_only(admin, app, clock, factory, transport):
    factory.tenant(slug="other", company="Other Inc.")
    transport.down = True
    url = _create_account(app, clock, "acme", "hanako@acme.example.com")
    _create_account(app, clock, "other", "jiro@other.example.com")

    response = admin.get("/admin/logs/mail")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'aria-current="page">メール送信エラー</a>' in html
    assert "hanako@acme.example.com" in html and '<td data-label="状態">再送予定</td>' in html
    assert "メールサーバーまたはSMS事業者に接続できませんでした" in html and "Errno" not in html  # words, not the exception
    assert "2026/04/01 09:00" in html and '<td data-label="試行回数">1</td>' in html
    assert "jiro@other.example.com" not in html and "owner@other" not in html
    assert url.rsplit("/", 1)[1] not in html


def test_a_given_up_mail_shows_as_failed(app, client, clock, login, acme, transport):
    transport.down = True
    _create_account(app, clock, "acme", "hanako@acme.example.com")
    for _ in range(25):
        clock.advance(hours=1)
        _deliver_due(app)
    assert login(email=ADMIN_EMAIL).status_code == 302
    html = client.get("/admin/logs/mail").get_data(as_text=True)
    assert "hanako@acme.example.com" in html and '<td data-label="状態">送信失敗</td>' in html
    assert '<td data-label="状態">再送予定</td>' not in html


def test_no_failures(admin):
    html = admin.get("/admin/logs/mail").get_data(as_text=True)
    assert "送信エラーはありません。" in html
    assert 'href="/admin/logs/mail"' in admin.get("/admin/logs/logins").get_data(as_text=True)


def test_only_admins_see_the_page(app, client, factory, login, acme):
    factory.account()
    login()
    assert client.get("/admin/logs/mail").status_code in (302, 403)


@pytest.mark.sqlite_only
def test_the_page_in_a_browser(live_server, browser_page, clock):
    """Screenshots at 1280 and 390 px (tests/output/screenshots/admin_logs_mail_*.png)."""
    from conftest import STRONG_PASSWORD
    from tests.admin_ui.admin.test_logs_browser import _shots
    application = live_server.app
    with application.app_context():
        tenants.create_tenant(slug="acme", company_name="ACME株式会社", owner_email="owner@acme.example.com",
                              admin_email=ADMIN_EMAIL, admin_password=STRONG_PASSWORD, now=clock.now(), actor=OPERATOR)
        db.session.commit()
    application.extensions["idp_mail"].flush()
    down = FlakyTransport()
    down.down = True
    application.extensions["idp_mail"].transport = down
    for name in ("hanako", "jiro"):
        _create_account(application, clock, "acme", f"{name}@acme.example.com")
    application.extensions["idp_mail"].flush()
    page = browser_page
    page.set_default_timeout(5000)
    page.goto(live_server.url + "/login")
    page.fill("input[name=email]", ADMIN_EMAIL)
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    page.goto(live_server.url + "/admin/logs/operations")
    page.click("text=メール送信エラー")
    table = page.locator("table.list").inner_text()
    for text in ("hanako@acme.example.com", "jiro@acme.example.com", "再送予定", "メール",
                 "メールサーバーまたはSMS事業者に接続できませんでした"):
        assert text in table, text
    _shots(page, "logs_mail")
