"""TOTP enrolment and a login with a code in a real browser (Playwright, headless Debian Chromium).

Codes are computed from the secret the page shows, as an authenticator app would, at the time of the
server's clock (the frozen test clock, IDP_CLOCK), so no code is computed near a step boundary of a
moving clock. Every check waits for the page (Playwright's `expect`) instead of reading it at once.
"""
import os

import pytest
from playwright.sync_api import expect

from conftest import SCREENSHOT_DIR, STRONG_PASSWORD
from idp.authn.mfa import policy as mfa_policy
from idp.directory import accounts
from idp.logs.audit import OPERATOR
from idp.platform.extensions import db
from idp.tenancy import tenants
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
        accounts.create_account(
            tenant, accounts.NewAccount(email=EMAIL, name="山田 太郎"),
            password=STRONG_PASSWORD, now=clock.now(), actor=OPERATOR)
        mfa_policy.set_policy(tenant, "totp", now=clock.now(), actor=OPERATOR)
        db.session.commit()
    page = browser_page
    _password_step(page, live_server)
    expect(page).to_have_url(live_server.url + "/login/mfa/totp")
    expect(page.locator(".qr svg")).to_have_count(1)
    _shot(page, "enrol")
    secret = page.locator("#totp-secret").inner_text()
    page.fill("input[name=code]", totp(secret, clock))  # the server's clock is frozen: no step boundary
    page.click("button:has-text('確認')")
    codes = page.locator(".recovery-codes code")
    expect(codes).to_have_count(10)
    assert len(set(codes.all_inner_texts())) == 10
    _shot(page, "recovery_codes")
    page.click("text=続ける")
    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator(".user-name")).to_have_text("山田 太郎")

    page.click("a.logout")
    page.click("button:has-text('ログアウト')")
    expect(page).to_have_url(live_server.url + "/login")
    clock.advance(seconds=30)  # the next step: the enrolment code is spent (replay protection)
    _password_step(page, live_server)
    expect(page).to_have_url(live_server.url + "/login/mfa/code")
    expect(page.locator("main")).to_contain_text("認証コードを入力してください。")
    page.fill("input[name=code]", "000000" if totp(secret, clock) != "000000" else "111111")
    page.click("button:has-text('確認')")
    expect(page.locator(".error")).to_have_text("認証コードが正しくありません。")
    _shot(page, "code")
    page.fill("input[name=code]", totp(secret, clock))
    page.click("button:has-text('確認')")
    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator(".user-name")).to_have_text("山田 太郎")
