"""SP metadata by URL (idp.saml.metadata_fetch): what an admin gets for each URL, against a local server.

The fetch goes through idp.platform.outbound, the SSRF guard of back-channel logout: no redirects, no
private targets unless the instance itself runs on loopback (the test app does, so the local server is
reachable; the tests with a public IDP_BASE_URL show the refusal), a deadline and a size limit."""
import json
import socket
import time

import pytest
from sqlalchemy import select

from idp.directory.groups import default_group
from idp.logs.audit import OPERATOR
from idp.models import AuditEvent
from idp.platform import outbound
from idp.platform.errors import ValidationError
from idp.platform.extensions import db
from idp.saml import metadata_fetch, registry
from idp.tenancy import tenants
from tests.support.sp_metadata import ENTITY_ID, MetadataServer, cert_body, sp_metadata

pytestmark = pytest.mark.sqlite_only  # no storage-specific behaviour here: SQLite alone (conftest.py)


def refused(app, url):
    """The messages fetch_sp_metadata gives for `url` (the test fails if it fetches anything)."""
    with app.test_request_context():
        with pytest.raises(ValidationError) as caught:
            metadata_fetch.fetch_sp_metadata(url)
        assert list(caught.value.errors) == ["metadata_url"]
        return " ".join(str(m) for m in caught.value.errors["metadata_url"])


def test_the_metadata_is_fetched(app, metadata_server):
    with app.test_request_context():
        xml = metadata_fetch.fetch_sp_metadata(metadata_server.url)
    assert f'entityID="{ENTITY_ID}"' in xml
    assert metadata_server.paths == ["/saml/metadata"]


def test_a_redirect_is_refused_not_followed(app, metadata_server, sp_cert):
    other = MetadataServer()
    try:
        other.body = sp_metadata(sp_cert)
        metadata_server.status, metadata_server.body = 302, b""
        metadata_server.headers = {"Location": other.url}
        message = refused(app, metadata_server.url)
        assert "別のURLへ転送しています" in message
        assert other.paths == []
    finally:
        other.close()


@pytest.mark.parametrize("body, send_length", [(b"<x>" + b"a" * (1024 * 1024) + b"</x>", True),
                                               (b"<x>" + b"a" * (1024 * 1024) + b"</x>", False)])
def test_too_large_a_document_is_refused(app, metadata_server, body, send_length):
    metadata_server.body, metadata_server.send_length = body, send_length
    assert "メタデータが大きすぎます（1 MiBまで）。" in refused(app, metadata_server.url)


def test_a_slow_server_times_out(app, metadata_server, monkeypatch):
    monkeypatch.setattr(metadata_fetch, "FETCH_TIMEOUT", 0.3)
    metadata_server.delay = 2
    started = time.monotonic()
    assert "0.3秒以内に終わりませんでした" in refused(app, metadata_server.url)
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("status, body, message", [
    (200, b"<html><body>Sign in</body></html>", "SPのSAMLメタデータではありません"),
    (200, b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="e"/>',
     "メタデータにSPSSODescriptorがありません"),
    (200, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "DTDや実体参照は使えません"),
    (404, b"not found", "メタデータを取得できませんでした（HTTP 404）。"),
])
def test_what_is_not_sp_metadata_is_refused_with_its_reason(app, metadata_server, status, body, message):
    metadata_server.status, metadata_server.body = status, body
    assert message in refused(app, metadata_server.url)


@pytest.mark.parametrize("url, message", [
    ("", "メタデータのURLを入力してください。"),
    ("sp.example.com/metadata", "https:// で始まるURLを入力してください"),
    ("ftp://sp.example.com/metadata", "https:// で始まるURLを入力してください"),
    ("http://sp.example.com/metadata", "https:// で始まるURLを入力してください"),
    ("https://user:secret@sp.example.com/metadata", "https:// で始まるURLを入力してください"),
    ("https://sp.example.com/meta data", "https:// で始まるURLを入力してください"),
    ("https://sp.example.com:99999/metadata", "https:// で始まるURLを入力してください"),
])
def test_what_is_not_a_usable_url_is_refused(app, url, message):
    assert message in refused(app, url)


def test_an_unreachable_host_is_said_so(app):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert "メタデータのURLに接続できませんでした。" in refused(app, f"http://127.0.0.1:{port}/md")


class TestPublicInstance:
    """An instance on a public name refuses every private target, without connecting."""

    @pytest.fixture
    def config_overrides(self):
        return {"IDP_BASE_URL": "https://idp.example.com"}

    @pytest.fixture(autouse=True)
    def _no_connection(self, monkeypatch):
        def fail(*args, **kwargs):
            raise AssertionError("must not connect")
        monkeypatch.setattr(outbound.socket, "create_connection", fail)

    @pytest.mark.parametrize("url, answer", [
        ("https://127.0.0.1:8443/saml/metadata", None),
        ("https://169.254.169.254/latest/meta-data", None),
        ("https://[::1]/md", None),
        ("https://sp.internal.example/md", "10.0.0.5"),
        ("https://sp.rebind.example/md", "192.168.1.20"),
    ])
    def test_private_targets_are_refused(self, app, monkeypatch, url, answer):
        if answer:
            monkeypatch.setattr(outbound.socket, "getaddrinfo", lambda host, port, *a, **k: [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port))])
        assert "内部ネットワークのアドレスのため、取得できません" in refused(app, url)

    def test_plain_http_is_refused_even_to_loopback(self, app, metadata_server):
        assert "https:// で始まるURLを入力してください" in refused(app, metadata_server.url)
        assert metadata_server.paths == []


def test_refresh_updates_the_acs_and_certificate_and_audits(app, clock, factory, metadata_server, new_sp_cert):
    factory.tenant("acme")
    with app.test_request_context():
        tenant = tenants.get_by_slug("acme")
        created = registry.register(tenant, registry.SpSettings(
            name="勤怠", entity_id=ENTITY_ID, acs_urls=["https://sp.example.com/acs"], nameid_format="persistent"),
            groups=[default_group(tenant)], now=clock.now(), actor=OPERATOR)
        created.sp.metadata_url = metadata_server.url
        db.session.commit()
        sp_id = created.sp.id
    metadata_server.body = sp_metadata(new_sp_cert, acs=(("https://sp.example.com/acs-old", 0, False),
                                                         ("https://sp.example.com/acs-2027", 5, True)))
    with app.test_request_context():
        sp = metadata_fetch.stored_sp(tenants.get_by_slug("acme"), entity_id=ENTITY_ID)
        changed = metadata_fetch.refresh_from_url(sp, now=clock.now(), actor=OPERATOR)
        db.session.commit()
    assert changed == ["acs_endpoints", "requests_signed", "signing_cert"]
    with app.app_context():
        sp = db.session.get(registry.SamlServiceProvider, sp_id)
        assert sp.acs_list == [{"url": "https://sp.example.com/acs-old", "index": 0, "default": False},
                               {"url": "https://sp.example.com/acs-2027", "index": 5, "default": True}]
        assert cert_body(sp.signing_cert) == cert_body(new_sp_cert) and sp.requests_signed
        assert sp.nameid_format == "persistent"  # the admin's choice, not the metadata's
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event.action == "app.update" and event.target_id == sp.app_id
        changes = event.changes if isinstance(event.changes, dict) else json.loads(event.changes)
        assert set(changes) == {"acs_endpoints", "requests_signed", "signing_cert"}
        assert changes["signing_cert"][1].startswith("sha256:")  # a fingerprint, never the certificate


def test_refresh_without_a_stored_url_says_so(app, clock, factory):
    factory.tenant("acme")
    with app.test_request_context():
        tenant = tenants.get_by_slug("acme")
        created = registry.register(tenant, registry.SpSettings(
            name="勤怠", entity_id=ENTITY_ID, acs_urls=["https://sp.example.com/acs"]), now=clock.now(), actor=OPERATOR)
        with pytest.raises(ValidationError) as caught:
            metadata_fetch.refresh_from_url(created.sp, now=clock.now(), actor=OPERATOR)
        assert str(caught.value.errors["metadata_url"][0]) == "メタデータのURLが登録されていません。"
