"""The two log pages in a real browser with realistic rows (issue 15, point 3): screenshots at a desktop
(1280 px) and a phone (390 px) width in tests/output/screenshots/ (git-ignored)."""
import os
from datetime import timedelta

import pytest

from conftest import SCREENSHOT_DIR, STRONG_PASSWORD
from idp.apps import catalogue as apps
from idp.authn.mfa import policy as mfa_policy
from idp.directory import accounts, groups
from idp.logs.audit import OPERATOR, Actor, ClientInfo, record_audit, record_login
from idp.platform.extensions import db
from idp.tenancy import tenants

pytestmark = pytest.mark.sqlite_only
ADMIN = "admin@acme.example.com"
OFFICE = ClientInfo("203.0.113.7", "Mozilla/5.0")


def _history(tenant, now):
    """What a first morning leaves in the logs: the services' own audit rows where one call makes them,
    otherwise rows as those services record them."""
    sales = groups.create_group(tenant, "営業", now=now, actor=OPERATOR)
    app = apps.create_bookmark_app(tenant, name="経費精算", launch_url="https://expense.example.com/", now=now,
                                   actor=OPERATOR)
    admin = accounts.with_email(ADMIN, tenant.id)[0]
    actor = Actor.of_account(admin)
    hanako = accounts.create_account(tenant, accounts.NewAccount(email="hanako@acme.example.com", name="佐藤 花子",
                                                                 group=sales), now=now, actor=actor).account
    db.session.flush()
    mfa_policy.set_policy(tenant, "totp", now=now, actor=actor, client=OFFICE)
    mfa_policy.set_policy(tenant, "sms", group=sales, now=now, actor=actor, client=OFFICE)
    record_audit(tenant_id=tenant.id, actor=actor, action="account.update", target=hanako, now=now, client=OFFICE,
                 changes={"name": ["佐藤 花子", "佐藤 華子"], "valid_to": [None, "2027-03-31"],
                          "group": [sales.id, groups.default_group(tenant).id]})
    record_audit(tenant_id=tenant.id, actor=actor, action="account.unlock", target=hanako, now=now, client=OFFICE,
                 changes={"was_locked": True})
    record_audit(tenant_id=tenant.id, actor=Actor("anonymous", None, ""), action="password.reset_request",
                 target=hanako, now=now, changes={"mail_sent": True, "blocked": ""})
    for minutes, protocol, result, reason in ((1, "password", "failure", "bad_password"),
                                              (2, "totp", "failure", "bad_code"), (3, "totp", "success", ""),
                                              (4, "sms", "success", ""), (5, "recovery", "success", ""),
                                              (6, "oidc", "failure", "app_not_assigned")):
        record_login(result=result, reason=reason, protocol=protocol, account=hanako, client=OFFICE,
                     now=now + timedelta(minutes=minutes), app_id=app.id if protocol == "oidc" else None,
                     target=app.name if protocol == "oidc" else "portal")


def _shots(page, name):
    os.makedirs(os.path.join(SCREENSHOT_DIR, "screenshots"), exist_ok=True)
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=os.path.join(SCREENSHOT_DIR, "screenshots", f"admin_{name}_{width}.png"), full_page=True)


def test_log_pages_read_as_words(live_server, browser_page, clock):
    with live_server.app.app_context():
        tenants.create_tenant(slug="acme", company_name="ACME株式会社", owner_email="owner@acme.example.com",
                              admin_email=ADMIN, admin_password=STRONG_PASSWORD, now=clock.now(), actor=OPERATOR)
        db.session.commit()
    page = browser_page
    page.set_default_timeout(5000)
    page.goto(live_server.url + "/login")
    page.fill("input[name=email]", ADMIN)
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")  # before the MFA policy below: the session stays usable for the console
    page.wait_for_url(live_server.url + "/")
    clock.advance(minutes=1)
    with live_server.app.app_context():
        _history(tenants.get_by_slug("acme"), clock.now())
        db.session.commit()
    clock.advance(minutes=10)
    page.goto(live_server.url + "/admin/logs/operations")
    table = page.locator("table.list").inner_text()
    for text in ("二段階認証の設定変更", "二段階認証: 使用しない → 認証アプリ（必須）", "所属グループ: 営業 → ACME株式会社",
                 "有効終了日: （なし） → 2027/03/31", "ロック状態: ロック中", "（未ログイン）", "会社全体"):
        assert text in table, text
    assert "None" not in table and "account.update" not in table and "blocked" not in table
    _shots(page, "logs_operations")
    page.click("text=ログイン履歴")
    table = page.locator("table.list").inner_text()
    for text in ("パスワード誤り", "パスワード＋認証アプリ", "認証コード誤り", "パスワード＋SMS", "パスワード＋回復コード",
                 "サービスの利用権限なし", "OpenID Connect"):
        assert text in table, text
    assert "bad_password" not in table and "totp" not in table
    _shots(page, "logs_logins")
