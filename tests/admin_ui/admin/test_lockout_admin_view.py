"""Issue 5: a lock earned through the pages (passwords and MFA codes together) as the tenant's admin sees
it in the console (locked_at in Japan time in the list and the detail), then lifted from the console."""
import pytest
from sqlalchemy import select

from conftest import STRONG_PASSWORD, csrf_token_from
from idp.directory import groups
from idp.models import Account, AuditEvent
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.support.mfa import post_form, secret_on, set_mode, totp

EMAIL = "taro@acme.example.com"
LOCK_MESSAGE = ("ログインに連続で失敗したため、このアカウントはロックされています。"
                "30分後に再度ログインをお試しいただくか、管理者にロック解除をご依頼ください。")


def password_step(browser, password=STRONG_PASSWORD):
    return post_form(browser, "/login", {"email": EMAIL, "password": password})


@pytest.fixture
def taro(app, factory, clock):
    """taro in 営業部, whose policy is TOTP (enrolled); the tenant itself (and its admin) has no MFA."""
    factory.tenant()
    factory.group("acme", "営業部")
    with app.app_context():
        sales = groups.get_by_name(tenants.get_by_slug("acme"), "営業部")
        factory.account(group=sales)
    set_mode(app, clock, "totp", group="営業部")
    browser = app.test_client()
    password_step(browser)
    secret = secret_on(browser.get("/login/mfa/totp").get_data(as_text=True))
    assert post_form(browser, "/login/mfa/totp", {"code": totp(secret, clock)}).status_code == 200
    with app.app_context():
        account_id = db.session.scalar(select(Account.id).where(Account.email == EMAIL))
    return account_id, secret


@pytest.fixture
def admin_browser(client, app, taro):
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"csrf_token": csrf_token_from(page), "email": "admin@acme.example.com",
                                "password": STRONG_PASSWORD})
    return client


def lock_through_the_pages(app, clock):
    """3 wrong passwords, then the right one and 2 wrong codes: locked on the code page."""
    browser = app.test_client()
    for _ in range(3):
        password_step(browser, "Wrong-Password-1")
    assert password_step(browser).headers["Location"] == "/login/mfa"
    post_form(browser, "/login/mfa/code", {"code": "000000"})
    locked = post_form(browser, "/login/mfa/code", {"code": "000000"})
    assert LOCK_MESSAGE in locked.get_data(as_text=True)
    return browser


def test_admin_sees_locked_at_in_list_and_detail(app, clock, taro, admin_browser):
    account_id, _secret = taro
    clock.advance(minutes=3)
    lock_through_the_pages(app, clock)  # at 00:03 UTC = 09:03 in Japan
    listing = admin_browser.get("/admin/accounts?lock=locked").get_data(as_text=True)
    assert "山田 太郎" in listing and "ロック中 2026/04/01 09:03" in listing
    detail = admin_browser.get(f"/admin/accounts/{account_id}").get_data(as_text=True)
    assert "ロック日時" in detail and "2026/04/01 09:03" in detail and "ロック中" in detail
    assert "ロック解除" in detail
    clock.advance(minutes=30)  # the lock ran out by itself: the time stays, marked as lifted
    detail = admin_browser.get(f"/admin/accounts/{account_id}").get_data(as_text=True)
    assert "2026/04/01 09:03" in detail and "30分経過により解除済み" in detail
    assert "山田 太郎" not in admin_browser.get("/admin/accounts?lock=locked").get_data(as_text=True)


def test_admin_unlocks_from_the_console(app, clock, taro, admin_browser):
    account_id, secret = taro
    browser = lock_through_the_pages(app, clock)
    detail_url = f"/admin/accounts/{account_id}"
    token = csrf_token_from(admin_browser.get(detail_url).get_data(as_text=True))
    response = admin_browser.post(f"{detail_url}/unlock", data={"csrf_token": token})
    assert response.headers["Location"] == detail_url
    assert "ロック中" not in admin_browser.get(detail_url).get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.unlock"))
        assert event.actor_type == "admin" and event.changes == {"was_locked": True}
    clock.advance(seconds=30)
    assert password_step(browser).headers["Location"] == "/login/mfa"  # no 30-minute wait
    assert post_form(browser, "/login/mfa/code", {"code": totp(secret, clock)}).headers["Location"] == "/"
