"""Issue 15 point 10 in a real browser: the key rotation's confirmation page, select boxes that show their whole
text, one tab bar position on list and detail pages, a phone-width menu that wraps by item, and one's own
account's type and status shown read-only. Screenshots at 1280 and 390 px in tests/output/screenshots/."""
import os

import pytest

from conftest import SCREENSHOT_DIR, STRONG_PASSWORD
from idp.directory import accounts
from idp.logs.audit import OPERATOR
from idp.platform.extensions import db
from idp.tenancy import tenants

pytestmark = pytest.mark.sqlite_only
ADMIN = "admin@acme.example.com"
WIDTHS = ((1280, 800), (390, 844))
# the selects narrower than their natural width (that of their longest option, arrow included) although their
# form has room for it: on a phone a select longer than the screen takes the whole width
SELECT_CUTS_TEXT = """() => [...document.querySelectorAll('select')].filter(s => s.offsetParent !== null).flatMap(s => {
  const copy = s.cloneNode(true);
  copy.style.cssText = 'width: auto; min-width: 0; max-width: none; position: absolute; visibility: hidden';
  s.parentNode.appendChild(copy);
  const natural = copy.offsetWidth;
  copy.remove();
  const room = Math.min(natural, s.closest('form').clientWidth);
  return s.offsetWidth + 1 < room ? [s.name + ': ' + s.offsetWidth + ' < ' + room] : [];
})"""


def _shots(page, name):
    os.makedirs(os.path.join(SCREENSHOT_DIR, "screenshots"), exist_ok=True)
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=os.path.join(SCREENSHOT_DIR, "screenshots", f"admin_{name}_{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


@pytest.fixture
def console(live_server, browser_page, clock):
    with live_server.app.app_context():
        tenant = tenants.create_tenant(slug="acme", company_name="ACME株式会社", owner_email="owner@acme.example.com",
                                       admin_email=ADMIN, admin_password=STRONG_PASSWORD, now=clock.now(),
                                       actor=OPERATOR).tenant
        accounts.create_account(tenant, accounts.NewAccount(email="taro@acme.example.com", name="山田 太郎"),
                                now=clock.now(), actor=OPERATOR, password=STRONG_PASSWORD)
        db.session.commit()
    page = browser_page
    page.set_default_timeout(5000)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server.url + "/login")
    page.fill("input[name=email]", ADMIN)
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    return page


def test_key_rotation_asks_after_explaining(console, live_server):
    page = console
    page.goto(live_server.url + "/admin/security")
    _shots(page, "security")
    page.click("button:has-text('鍵を更新する')")
    text = page.locator("section.card").inner_text()
    assert "新しい鍵で署名を始めます。" in text and "メタデータ（" in text and "取り消せません" in text
    assert page.locator("text=次の鍵").count() == 0  # nothing happened yet
    _shots(page, "security_rotate_confirm")
    page.click("button:has-text('更新を実行する')")
    assert "新しい署名鍵を作成しました。" in page.content()
    assert page.locator("text=次の鍵（公開済み・署名前）").count() == 2


def test_select_boxes_show_their_whole_text(console, live_server):
    page = console
    for path, name in (("/admin/apps/new/saml", "apps_saml_form_selects"), ("/admin/security", None),
                       ("/admin/logs/operations", None), ("/admin/accounts", None)):
        page.goto(live_server.url + path)
        for width, height in WIDTHS:
            page.set_viewport_size({"width": width, "height": height})
            assert page.evaluate(SELECT_CUTS_TEXT) == [], (path, width)
        page.set_viewport_size({"width": 1280, "height": 800})
        if name:
            _shots(page, name)


def test_the_tab_bar_stays_put_between_list_and_detail_pages(console, live_server):
    page = console
    positions = {}
    for path in ("/admin/accounts", "/admin/accounts/2", "/admin/accounts/2/edit", "/admin/groups", "/admin/security"):
        page.goto(live_server.url + path)
        box = page.locator("nav.admin-menu").bounding_box()
        positions[path] = (box["x"], box["width"])
    assert len(set(positions.values())) == 1, positions


def test_the_phone_menu_wraps_by_item(console, live_server):
    page = console
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/admin/accounts/2")
    for selector in ("nav.menu a", "nav.admin-menu a"):
        links = page.locator(selector)
        heights = [links.nth(i).bounding_box()["height"] for i in range(links.count())]
        single = min(heights)
        assert all(h < single * 1.5 for h in heights), (selector, heights)  # no link broken over two lines
        for i in range(links.count()):
            assert links.nth(i).bounding_box()["width"] > single, links.nth(i).inner_text()  # not one char wide
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shots(page, "account_detail_menu")


def test_own_account_shows_type_and_status_read_only(console, live_server):
    page = console
    with live_server.app.app_context():
        me = accounts.with_email(ADMIN, tenants.get_by_slug("acme").id)[0].id
    page.goto(live_server.url + f"/admin/accounts/{me}")
    page.click("a:has-text('編集')")
    assert page.url.endswith(f"/admin/accounts/{me}/edit")
    assert page.locator("select[name=role]").count() == 0 and page.locator("select[name=status]").count() == 0
    assert "自分自身のユーザータイプとステータスは変更できません" in page.locator("section.card").inner_text()
    _shots(page, "account_edit_self")
    page.fill("input[name=department]", "情報システム部")
    page.click("button:has-text('保存')")
    assert "アカウントを更新しました。" in page.content()
    details = page.locator(".details").inner_text()
    assert "情報システム部" in details and "管理者" in details
