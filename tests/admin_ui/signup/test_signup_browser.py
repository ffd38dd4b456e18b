"""Sign-up in a real browser (issue 15, point 9): a separate first admin is named, the テナントID and the
発行者URL are explained. Screenshots at 1280 and 390 px in tests/output/screenshots/ (git-ignored)."""
import os
import re

import pytest
from sqlalchemy import select

from conftest import SCREENSHOT_DIR
from idp.models import Account

pytestmark = pytest.mark.sqlite_only
OWNER = "yamada@sakura.example.com"
ADMIN = "it@sakura.example.com"

# The elements that stick out to the right of the screen (a page a phone would scroll sideways).
WIDER_THAN_SCREEN = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').trim().slice(0, 30))"""


def _shots(page, name):
    os.makedirs(os.path.join(SCREENSHOT_DIR, "screenshots"), exist_ok=True)
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=os.path.join(SCREENSHOT_DIR, "screenshots", f"{name}_{width}.png"), full_page=True)
        wide = page.evaluate(WIDER_THAN_SCREEN)
        assert not wide, (name, width, wide)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_signup_with_a_separate_admin(live_server, browser_page):
    page = browser_page
    page.set_default_timeout(5000)
    page.goto(live_server.url + "/signup")
    page.fill("input[name=company_name]", "株式会社さくら商事")
    page.fill("input[name=owner_name]", "山田 花子")
    page.fill("input[name=owner_email]", OWNER)
    page.fill("input[name=admin_email]", ADMIN)
    page.check("input[name=agreed]")
    _shots(page, "signup_form")
    page.click("button[type=submit]")
    page.wait_for_selector("text=メールをご確認ください")
    [mail] = live_server.outbox.to(OWNER)
    [link] = [url for url in live_server.outbox.links(mail) if "/signup/verify/" in url]
    page.goto(link)
    explained = page.locator("form .explain").inner_text()
    assert "後から変更できません" in explained and f"{live_server.url}/t/sakura/login" in explained
    assert page.locator("input[name=admin_name]").get_attribute("required") is not None
    _shots(page, "signup_confirm")
    page.click("button[type=submit]")  # without the admin's name: refused by the browser's required check
    assert "/signup/verify/" in page.url
    page.fill("input[name=admin_name]", "佐藤 次郎")
    page.click("button[type=submit]")
    page.wait_for_selector("text=お申し込み完了")
    text = page.locator("main").inner_text()
    assert "管理者 佐藤 次郎 様（it@sakura.example.com）" in text
    assert re.search(r"シングルサインオン（SSO）設定に、このURLを登録してください。", text)
    _shots(page, "signup_done")
    with live_server.app.app_context():
        from idp.platform.extensions import db
        assert db.session.execute(select(Account.email, Account.name)).all() == [(ADMIN, "佐藤 次郎")]
