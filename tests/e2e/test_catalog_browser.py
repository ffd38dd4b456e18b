"""Adding a service from the SaaS catalog in a real browser (issue 17, "Done when"): サービス → 追加 → search and
pick Slack → a wrong then a right workspace → 登録 → the app's page with the setup steps, their copy buttons and
the downloads. Screenshots at a desktop (1280 px) and a phone (390 px) width in tests/output/screenshots/."""
import os
import urllib.request

import pytest

from conftest import SCREENSHOT_DIR, STRONG_PASSWORD
from idp.logs.audit import OPERATOR
from idp.platform.extensions import db
from idp.tenancy import tenants

pytestmark = pytest.mark.sqlite_only
ADMIN = "admin@acme.example.com"


def _shots(page, name):
    os.makedirs(os.path.join(SCREENSHOT_DIR, "screenshots"), exist_ok=True)
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=os.path.join(SCREENSHOT_DIR, "screenshots", f"catalog_{name}_{width}.png"),
                        full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def _navigate(page, selector):
    with page.expect_navigation():
        page.click(selector)


def test_add_slack_from_the_catalog(live_server, browser_page, clock):
    with live_server.app.app_context():
        tenants.create_tenant(slug="acme", company_name="ACME株式会社", owner_email="owner@acme.example.com",
                              admin_email=ADMIN, admin_password=STRONG_PASSWORD, now=clock.now(), actor=OPERATOR)
        db.session.commit()
    page = browser_page
    page.set_default_timeout(5000)
    page.goto(live_server.url + "/login")
    page.fill("input[name=email]", ADMIN)
    page.fill("input[name=password]", STRONG_PASSWORD)
    _navigate(page, "button[type=submit]")
    page.goto(live_server.url + "/admin/accounts")
    _navigate(page, "nav.admin-menu >> text=サービス")
    _navigate(page, "a.button:text-is('追加')")
    assert page.url == live_server.url + "/admin/apps/add"
    assert page.locator("h2", has_text="コミュニケーション").is_visible()
    _shots(page, "picker")
    page.fill("input[name=q]", "sla")  # the script filters while typing
    page.wait_for_function("document.querySelector('li[data-catalog-item^=\"google-workspace\"]').hidden")
    assert page.locator("[data-catalog-item]:visible .catalog-name").all_inner_texts() == ["Slack"]
    assert page.locator("h2", has_text="業務効率化").is_hidden()
    assert page.locator("text=その他 (SAML)").is_visible()
    _shots(page, "picker_search")
    _navigate(page, "a.catalog-item:has-text('Slack')")
    assert page.input_value("input[name=name]") == "Slack"
    page.fill("input[name=input_domain]", "ACME Inc")  # not a subdomain: refused at the field
    page.check("label:has-text('ACME株式会社') input")
    _navigate(page, "button:text-is('登録')")
    assert "形式が正しくありません（例: acme）。" in page.locator("label.field", has_text="ワークスペース").inner_text()
    _shots(page, "form_error")
    page.fill("input[name=input_domain]", "acme")
    _navigate(page, "button:text-is('登録')")
    assert "サービスを保存しました。" in page.content()
    steps = page.locator("ol.setup-steps")
    assert steps.locator("li").count() >= 3
    sso = steps.locator("code.copy-value", has_text="/t/acme/saml/sso")
    assert sso.inner_text() == live_server.url + "/t/acme/saml/sso"
    button = steps.locator(".copy-field", has=page.locator("code", has_text="/t/acme/saml/sso")).locator("button")
    button.wait_for(state="visible")  # hidden without the script
    button.click()  # http:// on 127.0.0.1 is a secure context; otherwise the value is selected
    page.wait_for_function("[...document.querySelectorAll('button[data-copy]')].some(b => b.textContent === "
                           "'コピーしました') || String(window.getSelection()).includes('/saml/sso')")
    _shots(page, "setup_page")
    certificate = page.locator("a", has_text="署名用証明書をダウンロード").get_attribute("href")
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
    request = urllib.request.Request(live_server.url + certificate, headers={"Cookie": cookies})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.read().startswith(b"-----BEGIN CERTIFICATE-----")
    page.goto(live_server.url + "/")  # the portal tile opens the workspace
    assert page.locator(".tile a[href='https://acme.slack.com/']").is_visible()
