"""A group's members in a real browser (Playwright, headless Debian Chromium): the detail page with the
members to take out, the add-members view with the move warning, and the confirmation of taking members
out. Screenshots at 1280 px and 390 px widths in tests/output/screenshots/."""
import os

import pytest
from sqlalchemy import select

from conftest import STRONG_PASSWORD
from idp.directory import accounts
from idp.directory.groups import create_group
from idp.logs.audit import OPERATOR
from idp.models import App
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.admin_ui.admin.test_admin_browser import SHOTS, console  # noqa: F401  (console: fixture, acme's admin)

pytestmark = pytest.mark.sqlite_only
WIDTHS = (1280, 390)


def _shots(page, name):
    """Full-page screenshots at each width (admin_<name>_<width>.png), then back to the first width."""
    os.makedirs(SHOTS, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=os.path.join(SHOTS, f"admin_{name}_{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 800})


def _people(app, clock):
    """営業 (the app 経費精算) with two members, 開発 with one, one more in the default group; returns 営業's id."""
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        sales = create_group(tenant, "営業", description="営業部門", now=clock.now(), actor=OPERATOR)
        sales.apps = db.session.scalars(select(App).where(App.tenant_id == tenant.id)).all()
        dev = create_group(tenant, "開発", now=clock.now(), actor=OPERATOR)
        for email, name, group in (("taro", "山田 太郎", sales), ("hanako", "鈴木 花子", sales),
                                   ("jiro", "佐藤 次郎", dev), ("ichiro", "田中 一郎", None)):
            accounts.create_account(tenant, accounts.NewAccount(email=f"{email}@acme.example.com", name=name,
                                                                group=group),
                                    now=clock.now(), actor=OPERATOR, password=STRONG_PASSWORD)
        db.session.commit()
        return sales.id


def test_group_members_take_out_and_add_with_the_move_warning(console, live_server, clock):  # noqa: F811
    sales = _people(live_server.app, clock)
    page = console
    page.goto(f"{live_server.url}/admin/groups/{sales}")
    assert "外したメンバーはデフォルトグループ「ACME株式会社」に移動します。" in page.content()
    assert page.locator("table.list input[name=ids]").count() == 2
    _shots(page, "group_detail_members")
    page.click("text=メンバー追加")
    rows = page.locator("table.list tbody").inner_text()
    assert "山田 太郎" not in rows and "田中 一郎" in rows and "現在のグループ「開発」から移動します" in rows
    _shots(page, "group_add_members")
    page.check("tr:has-text('佐藤 次郎') input[name=ids]")
    page.click("button:has-text('選択したアカウントを追加')")
    assert "1人をグループに追加しました（うち1人はほかのグループから移動しました）。" in page.content()
    page.check("tr:has-text('山田 太郎') input[name=ids]")
    page.click("button:has-text('グループから外す')")
    assert "デフォルトグループ「ACME株式会社」に移動します" in page.content()
    _shots(page, "group_remove_members")
    page.click("section.card button:has-text('外す')")
    assert "1人をグループから外し、デフォルトグループ「ACME株式会社」に移動しました。" in page.content()
    assert "山田 太郎" not in page.locator("table.list").inner_text()
