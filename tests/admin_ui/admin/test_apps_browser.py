"""App registration in a real browser (Playwright, headless Debian Chromium): an OIDC app whose secret then
works at the token endpoint, and a SAML app from an uploaded metadata file. Screenshots in
tests/output/screenshots/."""
import base64
import json
import os
import urllib.request

import pytest

from conftest import SCREENSHOT_DIR, STRONG_PASSWORD
from idp import tenants
from idp.audit import OPERATOR
from idp.extensions import db
from tests.protocols.saml.conftest import make_key_pair

from .test_apps import metadata_xml

pytestmark = pytest.mark.sqlite_only
ADMIN = "admin@acme.example.com"
SHOTS = os.path.join(SCREENSHOT_DIR, "screenshots")


def _shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"admin_apps_{name}.png"), full_page=True)


@pytest.fixture
def console(live_server, browser_page, clock):
    with live_server.app.app_context():
        tenants.create_tenant(slug="acme", company_name="ACME株式会社", owner_email="owner@acme.example.com",
                              admin_email=ADMIN, admin_password=STRONG_PASSWORD, now=clock.now(), actor=OPERATOR)
        db.session.commit()
    page = browser_page
    page.goto(live_server.url + "/login")
    page.fill("input[name=email]", ADMIN)
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit]")
    page.click("text=管理")
    page.click("nav.admin-menu >> text=サービス")
    assert page.url == live_server.url + "/admin/apps"
    return page


def _client_credentials(base_url, client_id, secret):
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request = urllib.request.Request(base_url + "/t/acme/oidc/token", data=b"grant_type=client_credentials",
                                     headers={"Authorization": f"Basic {auth}",
                                              "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_register_an_oidc_app_and_use_its_secret(console, live_server):
    page = console
    _shot(page, "list_empty")
    page.click("text=OpenID Connectで登録")
    page.fill("input[name=name]", "経費精算")
    page.fill("input[name=icon]", "経")
    page.select_option("select[name=color]", "green")
    page.fill("input[name=launch_url]", "https://expense.example.com/login")
    page.check("label:has-text('ACME株式会社') input")
    page.fill("textarea[name=redirect_uris]", "http://expense.example.com/cb")  # not https: refused
    page.select_option("select[name=id_token_alg]", "ES256")
    page.fill("input[name=access_token_minutes]", "30")
    page.click("button:has-text('保存')")
    assert "http://はループバックアドレスのみ" in page.content()
    _shot(page, "oidc_form_error")
    page.fill("textarea[name=redirect_uris]", "https://expense.example.com/cb")
    page.click("button:has-text('保存')")
    secret = page.locator(".client-secret input").input_value()
    assert len(secret) > 40 and "この画面でのみ表示されます" in page.content()
    client_id = page.locator("dt:has-text('クライアントID') + dd input").input_value()
    assert page.locator("dt:has-text('ディスカバリURL') + dd input").input_value() == (
        live_server.url + "/t/acme/.well-known/openid-configuration")
    _shot(page, "oidc_secret")
    status, body = _client_credentials(live_server.url, client_id, secret)
    assert status == 200 and body["expires_in"] == 1800
    page.click("text=詳細へ")
    assert secret not in page.content() and "ES256" in page.content()
    _shot(page, "oidc_detail")
    page.goto(live_server.url + "/")
    tile = page.locator(".tile a[href='https://expense.example.com/login']")
    assert tile.inner_text().split() == ["経", "経費精算"]


def test_register_a_saml_app_from_metadata(console, live_server, tmp_path):
    path = tmp_path / "sp-metadata.xml"
    path.write_bytes(metadata_xml(make_key_pair("sp.example.com").cert))
    page = console
    page.click("text=SAMLで登録")
    page.fill("input[name=name]", "勤怠")
    page.set_input_files("input[name=metadata]", str(path))
    page.select_option("select[name=nameid_format]", "persistent")
    page.select_option("select[name=sign]", "assertion")
    page.select_option("select[name=attribute_preset]", "oid")
    page.fill("input[name=attr_department]", "department")
    page.fill("input[name=relay_state]", "/dashboard")
    _shot(page, "saml_form")
    page.click("button:has-text('保存')")
    assert "サービスを保存しました。" in page.content()
    details = page.locator(".details").nth(1).inner_text()
    for text in ("https://meta.example.com/sp", "https://meta.example.com/acs-b", "/dashboard", "urn:oid:"):
        assert text in details
    assert page.locator("dt:has-text('IdPメタデータURL') + dd input").input_value() == (
        live_server.url + "/t/acme/saml/metadata")
    _shot(page, "saml_detail")
    page.click("nav.admin-menu >> text=サービス")
    assert "https://meta.example.com/sp" in page.locator("table.list").inner_text()
    _shot(page, "list")
    page.click("table.list >> text=勤怠")
    page.click("button:has-text('削除')")
    assert "次のサービスを削除します" in page.content()
    _shot(page, "delete_confirmation")
    page.click("button:has-text('削除する')")
    assert "サービスを削除しました。" in page.content() and "勤怠" not in page.locator("table.list").inner_text()
