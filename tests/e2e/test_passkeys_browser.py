"""Passkeys in a real browser: Chromium with a virtual platform authenticator (CDP WebAuthn domain).

The app runs on http://localhost:<port> (`localhost_live_server`): Chromium refuses an IP address as RP ID.
The authenticator (tests/support/webauthn.py) verifies the user at once, as a fingerprint reader would.
The OIDC app is the small relying party of test_oidc_browser.py, which checks the ID token's signature
against the published JWKS; here it also shows the token's `amr` and `acr`.
"""
import json
import os
from urllib.parse import urlsplit

import pytest
from joserfc import jwt
from playwright.sync_api import expect
from sqlalchemy import select

from conftest import SCREENSHOT_DIR, STRONG_PASSWORD
from idp.authn.mfa import policy as mfa_policy
from idp.directory import accounts, groups
from idp.logs.audit import OPERATOR
from idp.models import Account
from idp.models.passkey import Passkey
from idp.oidc import clients as oidc_clients
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.e2e.test_oidc_browser import RelyingParty
from tests.support.webauthn import localhost_live_server, virtual_authenticator  # noqa: F401  (fixtures)

pytestmark = pytest.mark.sqlite_only
EMAIL, ADMIN = "taro@acme.example.com", "admin@acme.example.com"
ACR_MFA = "urn:matome:acr:mfa"


class ClaimsRelyingParty(RelyingParty):
    """The relying party of test_oidc_browser.py whose callback page shows the verified ID token's claims."""

    def callback(self, query):
        status, body, location = super().callback(query)
        return status, body + f"<pre id=claims>{json.dumps(self.claims)}</pre>", location


@pytest.fixture
def relying_party(monkeypatch):
    rp = ClaimsRelyingParty()
    decode = jwt.decode

    def keep_claims(*args, **kwargs):  # the parent's check, and the claims it verified
        token = decode(*args, **kwargs)
        rp.claims = token.claims
        return token
    monkeypatch.setattr(jwt, "decode", keep_claims)
    yield rp
    rp.close()


@pytest.fixture
def page(browser_page):
    """The browser page without the login page's autofill request (conditional mediation): the virtual
    authenticator answers that at once, which would sign in on every visit of /login; the button is tested."""
    browser_page.add_init_script(
        "if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = "
        "() => Promise.resolve(false);")
    browser_page.set_default_timeout(10000)
    return browser_page


def _shots(page, name):
    os.makedirs(os.path.join(SCREENSHOT_DIR, "screenshots"), exist_ok=True)
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=os.path.join(SCREENSHOT_DIR, "screenshots", f"passkeys_{name}_{width}.png"),
                        full_page=True)
    page.set_viewport_size({"width": 1200, "height": 800})


def _acme(server, clock, rp=None, mode=None):
    """The company, taro (a plain user) and, with `rp`, its OIDC app; `mode` the MFA policy."""
    with server.app.app_context():
        tenant = tenants.create_tenant(slug="acme", company_name="ACME株式会社", owner_email="owner@acme.example.com",
                                       admin_email=ADMIN, admin_name="管理 者", admin_password=STRONG_PASSWORD,
                                       now=clock.now(), actor=OPERATOR).tenant
        accounts.create_account(tenant, accounts.NewAccount(email=EMAIL, name="山田 太郎"),
                                password=STRONG_PASSWORD, now=clock.now(), actor=OPERATOR)
        if mode:
            mfa_policy.set_policy(tenant, mode, now=clock.now(), actor=OPERATOR)
        if rp:
            client = oidc_clients.register(
                tenant, oidc_clients.ClientSettings(name="経費精算", redirect_uris=[rp.url + "/cb"]),
                now=clock.now(), actor=OPERATOR, groups=[groups.default_group(tenant)]).as_json()
            rp.issuer = server.url + "/t/acme"
            rp.client_id, rp.client_secret = client["client_id"], client["client_secret"]
        db.session.commit()


def _stored_passkeys(server, email=EMAIL):
    with server.app.app_context():
        account = db.session.scalar(select(Account).where(Account.email == email))
        return [(p.name, p.sign_count) for p in db.session.scalars(
            select(Passkey).where(Passkey.account_id == account.id).order_by(Passkey.id))]


def _password_login(page, server, email=EMAIL):
    page.goto(server.url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")


def _logout(page, server):
    page.goto(server.url + "/logout")
    page.click("button:has-text('ログアウト')")
    expect(page).to_have_url(server.url + "/login")


def _register_on_mfa_page(page, server, name):
    page.goto(server.url + "/mfa")
    expect(page.locator("#passkeys h2, #passkeys h1")).to_contain_text("パスキー")
    page.fill("#passkey-name", name)
    page.click("#passkey-register")
    expect(page.locator("tr.passkey-row")).to_have_count(1)
    expect(page.locator("tr.passkey-row")).to_contain_text(name)


def _passkey_login(page, server):
    page.goto(server.url + "/login")
    expect(page.locator("input[name=email]")).to_have_attribute("autocomplete", "username webauthn")
    page.click("#passkey-login")


def test_register_log_out_sign_in_with_the_passkey_alone_and_sso_into_an_oidc_app(
        localhost_live_server, page, virtual_authenticator, clock, relying_party):  # noqa: F811
    server = localhost_live_server
    _acme(server, clock, rp=relying_party)
    _password_login(page, server)
    expect(page).to_have_url(server.url + "/")
    _register_on_mfa_page(page, server, "ノートPC")
    expect(page.locator(".flash")).to_have_text("パスキーを登録しました。")
    held = virtual_authenticator.credentials()
    assert [(c["rpId"], c["isResidentCredential"]) for c in held] == [("localhost", True)]
    assert _stored_passkeys(server) == [("ノートPC", held[0]["signCount"])]
    _shots(page, "mfa")

    _logout(page, server)
    clock.advance(minutes=10)
    page.goto(server.url + "/login")
    expect(page.locator("#passkey-login")).to_have_text("パスキーでログイン")
    _shots(page, "login")
    _passkey_login(page, server)  # no address, no password
    expect(page).to_have_url(server.url + "/")
    expect(page.locator(".user-name")).to_have_text("山田 太郎")
    count = virtual_authenticator.sign_count(held[0]["credentialId"])
    assert count > held[0]["signCount"] and _stored_passkeys(server) == [("ノートPC", count)]
    page.goto(server.url + "/mfa")
    expect(page.locator("tr.passkey-row td").nth(2)).to_have_text("2026/04/01 09:10")  # last used, Japan time

    page.goto(relying_party.url + "/start")  # SSO: the passkey session signs into the app without a prompt
    page.wait_for_url(relying_party.url + "/cb?*")
    expect(page.locator("#welcome")).to_have_text(f"ようこそ 山田 太郎 さん ({EMAIL})")
    claims = json.loads(page.locator("#claims").inner_text())
    assert {"user", "hwk", "mfa"} <= set(claims["amr"]) and "pwd" not in claims["amr"], claims["amr"]
    assert claims["acr"] == ACR_MFA
    assert urlsplit(claims["iss"]).hostname == "localhost"


def test_policy_passkey_enrols_one_at_the_first_login_then_confirms_with_it(
        localhost_live_server, page, virtual_authenticator, clock, relying_party):  # noqa: F811
    server = localhost_live_server
    _acme(server, clock, rp=relying_party, mode="passkey")
    _password_login(page, server)
    expect(page).to_have_url(server.url + "/login/mfa/passkey-enrol")  # the enrolment step, no session yet
    expect(page.locator("h1")).to_have_text("パスキーの登録")
    _shots(page, "enrol")
    page.fill("#passkey-name", "スマートフォン")
    page.click("#passkey-register")
    expect(page).to_have_url(server.url + "/")
    expect(page.locator(".user-name")).to_have_text("山田 太郎")
    held = virtual_authenticator.credentials()
    assert _stored_passkeys(server) == [("スマートフォン", held[0]["signCount"])]

    _logout(page, server)
    clock.advance(minutes=10)
    page.goto(relying_party.url + "/start")  # password, then the passkey as the second factor
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#passkey-verify")).to_have_text("パスキーで確認")
    expect(page.locator("input[name=code]")).to_have_count(0)  # policy `passkey`: no code instead
    _shots(page, "code")
    page.click("#passkey-verify")
    page.wait_for_url(relying_party.url + "/cb?*")
    claims = json.loads(page.locator("#claims").inner_text())
    assert {"pwd", "hwk", "user", "mfa"} <= set(claims["amr"]) and claims["acr"] == ACR_MFA, claims


def test_policy_any_lets_the_first_login_choose_a_passkey_then_confirms_with_it(
        localhost_live_server, page, virtual_authenticator, clock, relying_party):  # noqa: F811
    server = localhost_live_server
    _acme(server, clock, rp=relying_party, mode="any")
    _password_login(page, server)
    expect(page).to_have_url(server.url + "/login/mfa/choose")
    page.click("button[value=passkey]")
    expect(page).to_have_url(server.url + "/login/mfa/passkey-enrol")  # still no session
    page.fill("#passkey-name", "ノートPC")
    page.click("#passkey-register")
    expect(page).to_have_url(server.url + "/")
    expect(page.locator(".user-name")).to_have_text("山田 太郎")
    assert [name for name, _count in _stored_passkeys(server)] == ["ノートPC"]

    _logout(page, server)
    clock.advance(minutes=10)
    page.goto(relying_party.url + "/start")  # the password, then the passkey chosen at the first login
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")
    page.click("#passkey-verify")
    page.wait_for_url(relying_party.url + "/cb?*")
    claims = json.loads(page.locator("#claims").inner_text())
    assert {"pwd", "hwk", "user", "mfa"} <= set(claims["amr"]) and claims["acr"] == ACR_MFA, claims


def test_delete_a_passkey_with_the_password_then_it_signs_in_no_more(
        localhost_live_server, page, virtual_authenticator, clock):  # noqa: F811
    server = localhost_live_server
    _acme(server, clock)
    _password_login(page, server)
    _register_on_mfa_page(page, server, "古いスマホ")
    row = page.locator("tr.passkey-row")
    for cell in ("作成日時", "最終使用日時"):
        expect(page.locator("#passkeys")).to_contain_text(cell)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: each passkey a block, nothing cut off
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.evaluate("(c => c.scrollWidth <= c.clientWidth)(document.getElementById('passkeys'))")
    box = row.locator("form.passkey-delete input[name=password]").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["width"] >= 150, box
    labels = page.evaluate("[...document.querySelectorAll('tr.passkey-row td')].map("
                           "td => getComputedStyle(td, '::before').content)")
    assert "作成日時" in labels[1] and "最終使用日時" in labels[2], labels  # the header row is hidden there
    _shots(page, "mfa_phone")
    page.set_viewport_size({"width": 1200, "height": 800})
    row.locator("form.passkey-delete input[name=password]").fill("Wrong-Password-2026")
    row.locator("form.passkey-delete button[type=submit]").click()
    expect(page.locator(".flash")).to_have_text("パスワードが正しくありません。")
    expect(page.locator("tr.passkey-row")).to_have_count(1)  # a wrong password deletes nothing
    assert len(_stored_passkeys(server)) == 1
    row = page.locator("tr.passkey-row")
    row.locator("form.passkey-delete input[name=password]").fill(STRONG_PASSWORD)
    row.locator("form.passkey-delete button[type=submit]").click()
    expect(page).to_have_url(server.url + "/mfa#passkeys")
    expect(page.locator(".flash")).to_have_text("パスキーを削除しました。")
    expect(page.locator("tr.passkey-row")).to_have_count(0)
    assert _stored_passkeys(server) == []

    _logout(page, server)
    _passkey_login(page, server)  # the device still holds the key; the server no longer knows it
    expect(page.locator("#passkey-error")).not_to_be_empty()
    expect(page).to_have_url(server.url + "/login")


def test_the_admins_mfa_reset_removes_the_passkeys(
        localhost_live_server, page, virtual_authenticator, clock):  # noqa: F811
    server = localhost_live_server
    _acme(server, clock)
    _password_login(page, server)
    _register_on_mfa_page(page, server, "ノートPC")
    _logout(page, server)

    _password_login(page, server, email=ADMIN)
    expect(page).to_have_url(server.url + "/")
    with server.app.app_context():
        taro_id = db.session.scalar(select(Account.id).where(Account.email == EMAIL))
    page.goto(server.url + f"/admin/accounts/{taro_id}")
    mfa_row = page.locator("dt:has-text('二段階認証') + dd")  # says 未登録 for passkeys too (see the report)
    page.click("button:has-text('二段階認証リセット')")
    page.click("button:has-text('リセットする')")
    expect(page.locator("main")).to_contain_text("二段階認証をリセットしました。")
    expect(mfa_row).to_contain_text("未登録")
    assert _stored_passkeys(server) == []
    _logout(page, server)

    _passkey_login(page, server)
    expect(page.locator("#passkey-error")).not_to_be_empty()
    expect(page).to_have_url(server.url + "/login")


def test_autofill_signs_in_on_the_companys_login_page_and_not_on_anothers(
        localhost_live_server, browser_page, virtual_authenticator, clock):  # noqa: F811
    """Conditional mediation left on: the virtual authenticator answers the login page's autofill request
    at once (a person would pick the passkey in the e-mail field's list)."""
    server, page = localhost_live_server, browser_page
    _acme(server, clock)
    with server.app.app_context():
        tenants.create_tenant(slug="other", company_name="他社株式会社", owner_email="owner@other.example.com",
                              admin_email="admin@other.example.com", admin_password=STRONG_PASSWORD,
                              now=clock.now(), actor=OPERATOR)
        db.session.commit()
    _password_login(page, server)
    _register_on_mfa_page(page, server, "ノートPC")
    page.context.clear_cookies()  # signed out without the logout page, which would lead to /login

    page.goto(server.url + "/t/other/login")
    expect(page.locator("#passkey-error")).to_have_text("このパスキーは登録されていません。")
    expect(page).to_have_url(server.url + "/t/other/login")
    page.goto(server.url + "/t/acme/login")
    expect(page).to_have_url(server.url + "/")
    expect(page.locator(".user-name")).to_have_text("山田 太郎")
    assert _stored_passkeys(server)[0][1] == virtual_authenticator.credentials()[0]["signCount"]
