"""The help page in a real browser: from a tenant's login page to the FAQ and a sent inquiry (issue 15, ログイン編 5
問い合わせ); screenshots at 1280 and 390 px in tests/output/screenshots/."""
import os

import pytest

from conftest import SCREENSHOT_DIR, STRONG_PASSWORD
from idp.logs.audit import OPERATOR
from idp.platform.extensions import db
from idp.tenancy import tenants

pytestmark = pytest.mark.sqlite_only
SUPPORT = "support@operator.example.com"


def _shots(page, name):
    os.makedirs(os.path.join(SCREENSHOT_DIR, "screenshots"), exist_ok=True)
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=os.path.join(SCREENSHOT_DIR, "screenshots", f"{name}_{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_from_the_login_page_to_a_sent_inquiry(live_server, browser_page, clock):
    live_server.app.config.update(IDP_HELP_URL="", IDP_SUPPORT_EMAIL=SUPPORT)
    with live_server.app.app_context():
        tenants.create_tenant(slug="acme", company_name="ACME株式会社", owner_email="owner@acme.example.com",
                              admin_email="admin@acme.example.com", admin_password=STRONG_PASSWORD, now=clock.now(),
                              actor=OPERATOR)
        db.session.commit()
    page = browser_page
    page.set_default_timeout(5000)
    page.goto(live_server.url + "/t/acme/login")
    assert page.get_attribute("a:has-text('ログインにお困りの方はこちら')", "href") == "/t/acme/help"
    page.goto(live_server.url + "/t/acme/help")  # the link opens a new tab; the same page here
    text = page.locator("section.card").inner_text()
    for line in ("パスワードを5回続けて間違えると", "30分後に自動で解除されます", "回復コード", "24時間"):
        assert line in text, line
    assert page.input_value("input[name=company]") == "ACME株式会社"
    _shots(page, "help_page")
    page.fill("input[name=name]", "山田 太郎")
    page.fill("input[name=email]", "taro@acme.example.com")
    page.fill("textarea[name=message]", "パスワードを何度か間違えてロックされました。")
    page.click("button:has-text('送信する')")
    assert "お問い合わせを受け付けました。" in page.locator("p.flash").inner_text()
    _shots(page, "help_inquiry_sent")
    live_server.app.extensions["idp_mail"].flush()
    mail, = live_server.outbox.to(SUPPORT)
    body = live_server.outbox.body(mail)
    assert "ログインID（メールアドレス）: taro@acme.example.com" in body and "テナントID（ヘルプページのURL）: acme" in body
    assert page.request.get(live_server.url + "/favicon.ico").status == 200


def test_without_a_support_address(live_server, browser_page):
    live_server.app.config.update(IDP_HELP_URL="", IDP_SUPPORT_EMAIL="")
    page = browser_page
    page.goto(live_server.url + "/login")
    assert page.get_attribute("a:has-text('ログインにお困りの方はこちら')", "href") == "/help"
    page.goto(live_server.url + "/help")
    assert "ご所属の会社の管理者にご連絡ください。" in page.locator("section.card").inner_text()
    assert page.locator("textarea").count() == 0
    _shots(page, "help_page_no_form")
