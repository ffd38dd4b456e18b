"""App registration in a real browser (Playwright, headless Debian Chromium): an OIDC app whose secret then
works at the token endpoint, and a SAML app from an uploaded metadata file. Screenshots in
tests/output/screenshots/."""
import base64
import json
import urllib.request

import pytest

from tests.admin_ui.admin.test_admin_browser import _shot, console  # noqa: F401  (console: fixture, acme's admin)
from tests.admin_ui.admin.test_apps import metadata_xml
from tests.protocols.saml.conftest import make_key_pair

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def apps_console(console, live_server):  # noqa: F811  (the imported fixture)
    """acme's admin signed in (the console fixture of test_admin_browser), on the apps page."""
    _navigate(console, "nav.admin-menu >> text=サービス")
    assert console.url == live_server.url + "/admin/apps"
    return console


def _navigate(page, selector):
    """Click something that loads a new page, and wait for it (page.content() is empty in between)."""
    with page.expect_navigation():
        page.click(selector)


def _client_credentials(base_url, client_id, secret):
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request = urllib.request.Request(base_url + "/t/acme/oidc/token", data=b"grant_type=client_credentials",
                                     headers={"Authorization": f"Basic {auth}",
                                              "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_register_an_oidc_app_and_use_its_secret(apps_console, live_server):
    page = apps_console
    _shot(page, "apps_list_empty")
    _navigate(page, "a.button:text-is('追加')")  # サービス → 追加 → the catalog's 「その他」: the full form
    _navigate(page, "text=その他 (OpenID Connect)")
    page.fill("input[name=name]", "経費精算")
    page.fill("input[name=icon]", "経")
    page.select_option("select[name=color]", "green")
    page.fill("input[name=launch_url]", "https://expense.example.com/login")
    page.check("label:has-text('ACME株式会社') input")
    page.fill("textarea[name=redirect_uris]", "http://expense.example.com/cb")  # not https: refused
    page.select_option("select[name=id_token_alg]", "ES256")
    page.fill("input[name=access_token_minutes]", "30")
    _navigate(page, "button:has-text('保存')")
    assert "http://はループバックアドレスのみ" in page.content()
    _shot(page, "apps_oidc_form_error")
    page.fill("textarea[name=redirect_uris]", "https://expense.example.com/cb")
    _navigate(page, "button:has-text('保存')")
    secret = page.locator(".client-secret input").input_value()
    assert len(secret) > 40 and "この画面でのみ表示されます" in page.content()
    client_id = page.locator("dt:has-text('クライアントID') + dd input").input_value()
    assert page.locator("dt:has-text('ディスカバリURL') + dd input").input_value() == (
        live_server.url + "/t/acme/.well-known/openid-configuration")
    _shot(page, "apps_oidc_secret")
    status, body = _client_credentials(live_server.url, client_id, secret)
    assert status == 200 and body["expires_in"] == 1800
    _navigate(page, "text=詳細へ")
    assert secret not in page.content() and "ES256" in page.content()
    _shot(page, "apps_oidc_detail")
    page.goto(live_server.url + "/")
    tile = page.locator(".tile a[href='https://expense.example.com/login']")
    assert tile.inner_text().split() == ["経", "経費精算"]


def test_register_a_saml_app_from_metadata(apps_console, live_server, tmp_path):
    path = tmp_path / "sp-metadata.xml"
    path.write_bytes(metadata_xml(make_key_pair("sp.example.com").cert))
    page = apps_console
    _navigate(page, "a.button:text-is('追加')")
    _navigate(page, "text=その他 (SAML)")
    page.fill("input[name=name]", "勤怠")
    page.set_input_files("input[name=metadata]", str(path))
    page.select_option("select[name=nameid_format]", "persistent")
    page.select_option("select[name=sign]", "assertion")
    page.select_option("select[name=attribute_preset]", "oid")
    page.fill("input[name=attr_department]", "department")
    page.fill("input[name=relay_state]", "/dashboard")
    _shot(page, "apps_saml_form")
    _navigate(page, "button:has-text('保存')")
    assert "サービスを保存しました。" in page.content()
    details = page.locator(".details").nth(1).inner_text()
    for text in ("https://meta.example.com/sp", "https://meta.example.com/acs-b", "/dashboard", "urn:oid:"):
        assert text in details
    assert page.locator("dt:has-text('IdPメタデータURL') + dd input").input_value() == (
        live_server.url + "/t/acme/saml/metadata")
    _shot(page, "apps_saml_detail")
    _navigate(page, "nav.admin-menu >> text=サービス")
    assert "https://meta.example.com/sp" in page.locator("table.list").inner_text()
    _shot(page, "apps_list")
    _navigate(page, "table.list >> text=勤怠")
    _navigate(page, "button:has-text('削除')")
    assert "次のサービスを削除します" in page.content()
    _shot(page, "apps_delete_confirmation")
    _navigate(page, "button:has-text('削除する')")
    assert "サービスを削除しました。" in page.content() and "勤怠" not in page.locator("table.list").inner_text()
