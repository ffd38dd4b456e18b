"""`idp app add-saml --metadata-url` and `idp app refresh-metadata`, against a local metadata server."""
import pytest
from sqlalchemy import select

from idp.models.saml import SamlServiceProvider
from idp.platform.extensions import db
from tests.support.cli_runner import ok_json
from tests.support.sp_metadata import ENTITY_ID, cert_body, sp_metadata

pytestmark = pytest.mark.sqlite_only  # no storage-specific behaviour here: SQLite alone (conftest.py)


def error_line(result):
    assert result.exit_code == 1 and result.stdout == "", (result.stdout, result.stderr, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def sp_of(app, app_id):
    with app.app_context():
        return db.session.scalar(select(SamlServiceProvider).where(SamlServiceProvider.app_id == app_id))


@pytest.fixture
def added(cli, factory, metadata_server):
    factory.tenant("acme")
    return ok_json(cli("app", "add-saml", "--tenant", "acme", "--name", "勤怠", "--metadata-url", metadata_server.url,
                       "--json"))


def test_add_saml_reads_the_metadata_url_and_keeps_it(app, added, metadata_server, sp_cert):
    assert set(added) == {"app_id", "entity_id"} and added["entity_id"] == ENTITY_ID
    sp = sp_of(app, added["app_id"])
    assert sp.metadata_url == metadata_server.url and cert_body(sp.signing_cert) == cert_body(sp_cert)
    assert sp.acs_list == [{"url": "https://sp.example.com/acs", "index": 1, "default": True}]


def test_refresh_metadata_by_app_or_entity_id(app, cli, added, metadata_server, new_sp_cert):
    metadata_server.body = sp_metadata(new_sp_cert, acs=(("https://sp.example.com/acs-2027", 4, True),))
    data = ok_json(cli("app", "refresh-metadata", "--tenant", "acme", "--app", str(added["app_id"]), "--json"))
    assert data == {"app_id": added["app_id"], "entity_id": ENTITY_ID, "changed": ["acs_endpoints", "signing_cert"]}
    sp = sp_of(app, added["app_id"])
    assert sp.acs_list == [{"url": "https://sp.example.com/acs-2027", "index": 4, "default": True}]
    assert cert_body(sp.signing_cert) == cert_body(new_sp_cert)
    again = ok_json(cli("app", "refresh-metadata", "--tenant", "acme", "--entity-id", ENTITY_ID, "--json"))
    assert again["changed"] == []


def test_a_failed_fetch_is_one_error_line_and_changes_nothing(app, cli, added, metadata_server):
    metadata_server.status = 302
    metadata_server.headers = {"Location": "https://elsewhere.example.com/md"}
    line = error_line(cli("app", "refresh-metadata", "--tenant", "acme", "--app", str(added["app_id"])))
    assert "metadata_url: メタデータのURLが別のURLへ転送しています。" in line
    assert sp_of(app, added["app_id"]).acs_list[0]["url"] == "https://sp.example.com/acs"


def test_refresh_of_an_unknown_app_or_of_another_tenant(cli, factory, added):
    factory.tenant("other")
    assert "no SAML app" in error_line(cli("app", "refresh-metadata", "--tenant", "other", "--app",
                                           str(added["app_id"])))
    assert "no SAML app" in error_line(cli("app", "refresh-metadata", "--tenant", "acme", "--entity-id", "nope"))


@pytest.mark.parametrize("args", [
    ("refresh-metadata", "--tenant", "acme"),
    ("refresh-metadata", "--tenant", "acme", "--app", "1", "--entity-id", ENTITY_ID),
    ("add-saml", "--tenant", "acme", "--name", "x", "--metadata-url", "https://sp.example.com/md",
     "--entity-id", ENTITY_ID),
])
def test_usage_errors(cli, args):
    assert cli("app", *args).exit_code == 2


def test_add_saml_refuses_a_private_url_on_a_public_instance(cli, factory, monkeypatch, app):
    factory.tenant("acme")
    app.config["IDP_BASE_URL"] = "https://idp.example.com"
    line = error_line(cli("app", "add-saml", "--tenant", "acme", "--name", "x", "--metadata-url",
                          "https://169.254.169.254/latest/meta-data"))
    assert "内部ネットワークのアドレスのため、取得できません" in line
