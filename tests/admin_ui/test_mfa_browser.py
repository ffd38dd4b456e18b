"""TOTP enrolment and a login with a code in a real browser (Playwright, headless Debian Chromium).

Codes are computed from the secret the page shows, as an authenticator app would.
"""
import os

import pytest

from conftest import SCREENSHOT_DIR, STRONG_PASSWORD
from idp import accounts, mfa_policy, tenants
from idp.audit import OPERATOR
from idp.extensions import db
from tests.support.mfa import totp

pytestmark = pytest.mark.sqlite_only
EMAIL = "taro@acme.example.com"


def _shot(page, name):
    page.screenshot(path=os.path.join(SCREENSHOT_DIR, f"mfa_{name}.png"), full_page=True)


def _password_step(page, live_server):
    page.goto(live_server.url + "/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")


def test_totp_enrolment_then_login_with_a_code(live_server, browser_page, clock):
    with live_server.app.app_context():
        tenant = tenants.create_tenant(slug="acme", company_name="ACME株式会社", owner_email="owner@acme.example.com",
                                       admin_email="admin@acme.example.com", admin_password=STRONG_PASSWORD,
                                       now=clock.now(), actor=OPERATOR).tenant
        accounts.create_account(tenant, email=EMAIL, name="山田 太郎", password=STRONG_PASSWORD, now=clock.now(),
                                actor=OPERATOR)
        mfa_policy.set_policy(tenant, "totp", now=clock.now(), actor=OPERATOR)
        db.session.commit()
    page = browser_page
    _password_step(page, live_server)
    assert page.url == live_server.url + "/login/mfa/totp"
    assert page.locator(".qr svg").count() == 1
    _shot(page, "enrol")
    secret = page.locator("#totp-secret").inner_text()
    page.fill("input[name=code]", totp(secret, clock))
    page.click("button:has-text('確認')")
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    _shot(page, "recovery_codes")
    page.click("text=続ける")
    assert page.url == live_server.url + "/" and "山田 太郎" in page.content()

    page.click("a.logout")
    page.click("button:has-text('ログアウト')")
    clock.advance(seconds=30)
    _password_step(page, live_server)
    assert page.url == live_server.url + "/login/mfa/code"
    assert "認証コードを入力してください。" in page.content()
    page.fill("input[name=code]", "000000")
    page.click("button:has-text('確認')")
    assert "認証コードが正しくありません。" in page.content()
    _shot(page, "code")
    page.fill("input[name=code]", totp(secret, clock))
    page.click("button:has-text('確認')")
    assert page.url == live_server.url + "/" and "山田 太郎" in page.content()
