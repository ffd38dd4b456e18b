"""The owner's contract pages in a real browser (issue 15, point 8): the bar and menu, the owner's name,
a readable termination button, and no sideways scrolling on a phone. Screenshots at 1280 and 390 px in
tests/output/screenshots/ (git-ignored)."""
import os

import pytest
from sqlalchemy import select

from conftest import SCREENSHOT_DIR, STRONG_PASSWORD
from idp.directory.passwords import hash_password
from idp.logs.audit import OPERATOR
from idp.models import Owner
from idp.platform.extensions import db
from idp.tenancy import tenants

pytestmark = pytest.mark.sqlite_only
OWNER = "yamada@sakura.example.com"
OWNER_PASSWORD = "Contract-Holder-2026"
WIDTHS = ((1280, 800), (390, 844))

# The elements that stick out to the right of the screen (a page a phone would scroll sideways).
WIDER_THAN_SCREEN = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').trim().slice(0, 30))"""


def _shots(page, name):
    """Both widths; at each the page must not scroll sideways."""
    os.makedirs(os.path.join(SCREENSHOT_DIR, "screenshots"), exist_ok=True)
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=os.path.join(SCREENSHOT_DIR, "screenshots", f"{name}_{width}.png"), full_page=True)
        wide = page.evaluate(WIDER_THAN_SCREEN)
        assert not wide, (name, width, wide)
    page.set_viewport_size({"width": 1280, "height": 800})


def _sakura(app, clock):
    with app.app_context():
        tenants.create_tenant(slug="sakura", company_name="株式会社さくら商事", owner_email=OWNER,
                              owner_name="山田 花子", admin_email="it@sakura.example.com", admin_name="佐藤 次郎",
                              admin_password=STRONG_PASSWORD, now=clock.now(), actor=OPERATOR)
        owner = db.session.scalar(select(Owner))
        owner.password_hash, owner.activated = hash_password(OWNER_PASSWORD), True
        db.session.commit()


def test_contract_pages_in_the_browser(live_server, browser_page, clock):
    _sakura(live_server.app, clock)
    page = browser_page
    page.set_default_timeout(5000)
    page.goto(live_server.url + "/contract/login")
    _shots(page, "contract_login")
    page.fill("input[name=email]", OWNER)
    page.fill("input[name=password]", OWNER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/contract/")
    bar = page.locator(".contract-bar").inner_text()
    for text in ("契約管理", "株式会社さくら商事", "山田 花子（yamada@sakura.example.com）", "ログアウト"):
        assert text in bar, text
    assert page.locator(".contract-menu [aria-current=page]").inner_text() == "契約情報"
    _shots(page, "contract_home")
    page.click(".contract-menu >> text=契約者の切り替え")
    page.wait_for_url(live_server.url + "/contract/handover")
    _shots(page, "contract_handover")
    page.click(".contract-menu >> text=利用終了")
    page.wait_for_url(live_server.url + "/contract/terminate")
    button = page.locator("button.danger")
    colours = button.evaluate("b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
    assert colours == ["rgb(255, 255, 255)", "rgb(180, 35, 24)"]  # white on the error red
    _shots(page, "contract_terminate")
    page.click(".contract-bar >> text=ログアウト")
    page.wait_for_url(live_server.url + "/contract/logout")
    _shots(page, "contract_logout")
