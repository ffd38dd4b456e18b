"""SP metadata by URL in the console: 「取得」 on the SAML form fills the connection fields from the URL (server
side, against a local server), the URL is stored with the app, and 「メタデータを再取得」 on the app page
applies the SP's current metadata (audited). The fetch's own cases are in tests/idp/saml."""
import html
import re

import pytest
from sqlalchemy import select

from idp.models import App, AuditEvent
from idp.models.saml import SamlServiceProvider
from idp.platform.extensions import db
from tests.support.sp_metadata import ENTITY_ID, MetadataServer, cert_body, sp_metadata
from tests.protocols.saml.conftest import make_key_pair

pytestmark = pytest.mark.sqlite_only  # no storage-specific behaviour here: SQLite alone (conftest.py)

NEW = "/admin/apps/new/saml"


@pytest.fixture(scope="module")
def certs():
    return make_key_pair("sp.example.com").cert, make_key_pair("sp-2027.example.com").cert


@pytest.fixture
def server(certs):
    published = MetadataServer()
    published.body = sp_metadata(certs[0], acs=(("https://sp.example.com/acs-a", 3, False),
                                                ("https://sp.example.com/acs-b", 7, True)))
    yield published
    published.close()


def form(**overrides):
    data = {"name": "勤怠", "icon": "", "color": "", "entity_id": "", "acs_urls": "", "slo_url": "",
            "slo_binding": "redirect", "signing_cert": "", "encryption_cert": "", "encryption_algorithm": "aes256-gcm",
            "nameid_format": "email", "sign": "both", "attribute_preset": "basic", "relay_state": ""}
    return {**data, **overrides}


def field(page, name):
    """What the page's input or textarea `name` holds."""
    found = (re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
             or re.search(rf'name="{name}" value="([^"]*)"', page))
    assert found, name
    return html.unescape(found.group(1))


def sp_row(app, app_id):
    with app.app_context():
        sp = db.session.scalar(select(SamlServiceProvider).where(SamlServiceProvider.app_id == app_id))
        return {"entity_id": sp.entity_id, "acs": sp.acs_list, "cert": sp.signing_cert, "url": sp.metadata_url,
                "signed": sp.requests_signed}


def created_app(post, server, **overrides):
    response = post(NEW, NEW, form(entity_id=ENTITY_ID, acs_urls="https://sp.example.com/acs",
                                   metadata_url=server.url, **overrides))
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    return int(response.location.rsplit("/", 1)[1])


def test_fetch_fills_the_new_form_and_saving_keeps_the_url(admin, post, app, server, certs):
    fetched = post(NEW, NEW + "/metadata", form(metadata_url=server.url))
    page = fetched.get_data(as_text=True)
    assert fetched.status_code == 200 and server.paths == ["/saml/metadata"]
    assert "メタデータの内容を入力欄に反映しました。確認して保存してください。" in page
    assert f'action="{NEW}"' in page  # saving goes to the form's own page, not back here
    assert field(page, "entity_id") == ENTITY_ID and field(page, "name") == "勤怠"
    assert field(page, "acs_urls") == "https://sp.example.com/acs-b\nhttps://sp.example.com/acs-a"  # default first
    assert cert_body(field(page, "signing_cert")) == cert_body(certs[0])
    assert 'name="requests_signed" value="y" checked' in page and field(page, "metadata_url") == server.url

    saved = post(NEW, NEW, form(**{name: field(page, name) for name in (
        "entity_id", "acs_urls", "signing_cert", "metadata_url")}, requests_signed="y"))
    assert saved.status_code == 302, saved.get_data(as_text=True)[:1500]
    app_id = int(saved.location.rsplit("/", 1)[1])
    row = sp_row(app, app_id)
    assert (row["entity_id"], row["url"], row["signed"]) == (ENTITY_ID, server.url, True)
    assert [e["url"] for e in row["acs"] if e["default"]] == ["https://sp.example.com/acs-b"]
    detail = admin.get(f"/admin/apps/{app_id}").get_data(as_text=True)
    assert server.url in detail and "メタデータを再取得" in detail
    assert field(admin.get(f"/admin/apps/{app_id}/edit").get_data(as_text=True), "metadata_url") == server.url


def _save_as_the_browser_does(post, page, url, **changes):
    """POST the form as the page shows it (with its hidden fields), some fields changed."""
    names = ("entity_id", "acs_urls", "acs_indexes", "signing_cert", "metadata_url")
    return post(url, url, form(**{**{name: field(page, name) for name in names}, **changes}))


def test_the_acs_indexes_of_fetched_metadata_are_kept_as_the_sp_numbers_them(admin, post, app, server):
    """An SP may ask for its ACS by index (AssertionConsumerServiceIndex): the indexes are its metadata's
    (3 and 7 here), not the lines' positions, when the URLs are saved as 「取得」 filled them."""
    page = post(NEW, NEW + "/metadata", form(metadata_url=server.url)).get_data(as_text=True)
    saved = _save_as_the_browser_does(post, page, NEW)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:1500]
    app_id = int(saved.location.rsplit("/", 1)[1])
    assert sp_row(app, app_id)["acs"] == [{"url": "https://sp.example.com/acs-b", "index": 7, "default": True},
                                          {"url": "https://sp.example.com/acs-a", "index": 3, "default": False}]

    edit = f"/admin/apps/{app_id}/edit"  # the same on the edit form, where the stored list was 0, 1 before
    post(edit, edit, form(entity_id=ENTITY_ID, acs_urls="https://sp.example.com/acs-a\nhttps://sp.example.com/acs-b",
                          metadata_url=server.url))
    assert [e["index"] for e in sp_row(app, app_id)["acs"]] == [0, 1]
    page = post(edit, f"/admin/apps/{app_id}/metadata/fetch", form(metadata_url=server.url)).get_data(as_text=True)
    assert _save_as_the_browser_does(post, page, edit).status_code == 302
    assert [(e["url"][-5:], e["index"]) for e in sp_row(app, app_id)["acs"]] == [("acs-b", 7), ("acs-a", 3)]


@pytest.mark.parametrize("changes", [
    {"acs_urls": "https://sp.example.com/acs-b\nhttps://sp.example.com/acs-c"},  # a URL typed after 「取得」
    {"acs_indexes": '[["https://sp.example.com/acs-b", "x"], 5]'},  # what no page wrote
    {"acs_indexes": "not json"},
])
def test_otherwise_the_lines_are_numbered_in_order(admin, post, app, server, changes):
    page = post(NEW, NEW + "/metadata", form(metadata_url=server.url)).get_data(as_text=True)
    saved = _save_as_the_browser_does(post, page, NEW, **changes)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:1500]
    acs = sp_row(app, int(saved.location.rsplit("/", 1)[1]))["acs"]
    assert [(e["index"], e["default"]) for e in acs] == [(0, True), (1, False)]


def test_fetch_on_the_edit_form_comes_back_to_the_edit(admin, post, app, server):
    app_id = created_app(post, server)
    page = post(f"/admin/apps/{app_id}/edit", f"/admin/apps/{app_id}/metadata/fetch",
                form(metadata_url=server.url)).get_data(as_text=True)
    assert f'action="/admin/apps/{app_id}/edit"' in page and field(page, "entity_id") == ENTITY_ID
    assert sp_row(app, app_id)["acs"] == [{"url": "https://sp.example.com/acs", "index": 0, "default": True}]


@pytest.mark.parametrize("status, headers, message", [
    (302, {"Location": "https://elsewhere.example.com/md"}, "メタデータのURLが別のURLへ転送しています。"),
    (500, {}, "メタデータを取得できませんでした（HTTP 500）。"),
])
def test_a_failed_fetch_is_shown_on_the_form_and_keeps_what_was_typed(admin, post, app, server, status, headers,
                                                                      message):
    server.status, server.headers, server.body = status, headers, b""
    response = post(NEW, NEW + "/metadata", form(metadata_url=server.url, name="経費"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page and field(page, "name") == "経費"
    with app.app_context():
        assert db.session.scalar(select(App)) is None


def test_an_unusable_url_is_refused_on_save(admin, post, app):
    response = post(NEW, NEW, form(entity_id=ENTITY_ID, acs_urls="https://sp.example.com/acs",
                                   metadata_url="ftp://sp.example.com/md"))
    assert response.status_code == 200
    assert "メタデータのURLが正しくありません" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(App)) is None


def test_refresh_applies_the_new_acs_and_certificate(admin, post, app, server, certs):
    app_id = created_app(post, server)
    server.body = sp_metadata(certs[1], acs=(("https://sp.example.com/acs-2027", 2, True),))
    response = post(f"/admin/apps/{app_id}", f"/admin/apps/{app_id}/metadata/refresh")
    assert response.status_code == 302 and response.location.endswith(f"/admin/apps/{app_id}")
    assert "メタデータを再取得して、設定を更新しました。" in admin.get(response.location).get_data(as_text=True)
    row = sp_row(app, app_id)
    assert row["acs"] == [{"url": "https://sp.example.com/acs-2027", "index": 2, "default": True}]
    assert cert_body(row["cert"]) == cert_body(certs[1]) and row["signed"]
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (event.action, event.actor_type, event.target_id) == ("app.update", "admin", app_id)
        assert {"acs_endpoints", "signing_cert"} <= set(event.changes)


def test_a_failed_refresh_changes_nothing_and_says_why(admin, post, app, server):
    app_id = created_app(post, server)
    server.status, server.body = 500, b""
    response = post(f"/admin/apps/{app_id}", f"/admin/apps/{app_id}/metadata/refresh", follow_redirects=True)
    assert "メタデータを取得できませんでした（HTTP 500）。" in response.get_data(as_text=True)
    assert sp_row(app, app_id)["acs"] == [{"url": "https://sp.example.com/acs", "index": 0, "default": True}]


def test_refresh_needs_csrf_and_an_app_of_the_tenant(admin, post, app, server):
    app_id = created_app(post, server)
    assert admin.post(f"/admin/apps/{app_id}/metadata/refresh").status_code == 400
    assert admin.post(f"/admin/apps/{app_id}/metadata/fetch", data=form()).status_code == 400
    assert post(f"/admin/apps/{app_id}", f"/admin/apps/{app_id + 1000}/metadata/refresh").status_code == 404
    assert server.paths == []


def test_an_app_without_url_offers_no_refresh(admin, post, app, server):
    response = post(NEW, NEW, form(entity_id=ENTITY_ID, acs_urls="https://sp.example.com/acs"))
    detail = admin.get(response.location).get_data(as_text=True)
    assert "メタデータのURLは登録されていません。" in detail and "メタデータを再取得" not in detail
