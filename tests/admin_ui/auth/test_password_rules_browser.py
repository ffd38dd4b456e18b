"""The activation page in a real browser (Playwright, headless Debian Chromium): every password rule is on the
page before anything is typed, and a refused password is told which rule it broke. Screenshots at 1280 px and
390 px widths in tests/output/screenshots/."""
import os

import pytest

from conftest import SCREENSHOT_DIR
from idp.directory import accounts
from idp.logs.audit import OPERATOR
from idp.platform.extensions import db
from idp.tenancy import tenants

pytestmark = pytest.mark.sqlite_only
SHOTS = os.path.join(SCREENSHOT_DIR, "screenshots")
WIDTHS = ((1280, 800), (390, 844))


def _shots(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=os.path.join(SHOTS, f"{name}_{width}.png"), full_page=True)


def test_activation_page_shows_every_rule(live_server, browser_page, clock):
    with live_server.app.app_context():
        tenant = tenants.create_tenant(slug="acme", company_name="ACME株式会社", owner_email="owner@acme.example.com",
                                       admin_email="admin@acme.example.com", admin_password="Sakura-Blossom-2026",
                                       now=clock.now(), actor=OPERATOR).tenant
        url = accounts.create_account(tenant, accounts.NewAccount(email="hanako@acme.example.com", name="佐藤 花子"),
                                      now=clock.now(), actor=OPERATOR).activation_url
        db.session.commit()
    page = browser_page
    page.goto(url)
    rules = page.locator(".password-rules li")
    assert rules.all_inner_texts() == [
        "10文字以上", "英大文字・英小文字・数字・記号のうち3種類以上を含む", "半角の英数字と記号のみ（空白・全角文字は使えません）",
        "よく使われているパスワード（Password1234 など）ではない", "メールアドレスの@より前の部分（hanako）を含まない"]
    assert all(rules.nth(i).is_visible() for i in range(5))
    _shots(page, "activation_password_rules")
    page.fill("input[name=password]", "Hanako-Pass-2026")
    page.fill("input[name=password_confirm]", "Hanako-Pass-2026")
    page.click("button[type=submit]")
    assert page.locator(".field-error").all_inner_texts() == [
        "パスワードにメールアドレスの@より前の部分（hanako）を含めることはできません。"]
    _shots(page, "activation_password_refused")
