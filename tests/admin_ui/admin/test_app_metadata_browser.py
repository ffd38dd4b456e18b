"""SP metadata by URL in a real browser: 「取得」 fills the SAML form from a local metadata server, Enter in a
text field still saves (取得 is not the form's default button), and 「メタデータを再取得」 on the app page
applies the SP's new metadata. Screenshots at 1280 and 390 px in tests/output/screenshots/."""
import pytest

from tests.admin_ui.admin.test_admin_browser import _shot, console  # noqa: F401  (console: fixture, acme's admin)
from tests.protocols.saml.conftest import make_key_pair
from tests.support.sp_metadata import ENTITY_ID, MetadataServer, sp_metadata

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def server():
    published = MetadataServer()
    published.body = sp_metadata(make_key_pair("sp.example.com").cert)
    yield published
    published.close()


def _navigate(page, action):
    with page.expect_navigation():
        action()


def _shots(page, name):
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        _shot(page, f"{name}_{width}")


def test_fetch_then_save_then_refresh(console, live_server, server):  # noqa: F811  (the imported fixture)
    page = console
    page.goto(live_server.url + "/admin/apps/new/saml")
    page.fill("input[name=name]", "勤怠")
    page.fill("input[name=metadata_url]", server.url)
    _navigate(page, lambda: page.click("button:text-is('取得')"))
    assert "メタデータの内容を入力欄に反映しました。" in page.content()
    assert page.input_value("input[name=entity_id]") == ENTITY_ID
    assert page.input_value("textarea[name=acs_urls]") == "https://sp.example.com/acs"
    assert page.input_value("textarea[name=signing_cert]").startswith("-----BEGIN CERTIFICATE-----")
    _shots(page, "apps_saml_metadata_fetched")
    _navigate(page, lambda: page.press("input[name=name]", "Enter"))  # the default button saves
    assert "サービスを保存しました。" in page.content() and server.url in page.content()
    server.body = sp_metadata(make_key_pair("sp-2027.example.com").cert,
                              acs=(("https://sp.example.com/acs-2027", 2, True),))
    _navigate(page, lambda: page.click("button:text-is('メタデータを再取得')"))
    assert "メタデータを再取得して、設定を更新しました。" in page.content()
    assert "https://sp.example.com/acs-2027" in page.content()
    _shots(page, "apps_saml_metadata_refreshed")
