"""`idp app add-saml`: by options or from the SP's metadata (parsed safely), with clear errors."""
import json

import pytest
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from idp.models import App, SamlServiceProvider
from idp.platform.extensions import db
from idp.saml import metadata_import as saml_metadata_import
from tests.protocols.saml.conftest import ACS_URL, SP_ENTITY, OneLoginSp


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def test_add_saml_by_options(cli, app, acme, factory, tmp_path, sp_keys):
    factory.group("acme", "営業部")
    cert = tmp_path / "sp.pem"
    cert.write_text(sp_keys.cert)
    result = cli("app", "add-saml", "--tenant", "acme", "--name", "経費精算", "--entity-id", SP_ENTITY,
                 "--acs-url", ACS_URL, "--slo-url", "https://sp.example.com/slo", "--cert", str(cert),
                 "--nameid-format", "persistent", "--sign", "assertion", "--group", "営業部", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["entity_id"] == SP_ENTITY
    with app.app_context():
        app_row = db.session.get(App, data["app_id"])
        sp = db.session.query(SamlServiceProvider).filter_by(app_id=app_row.id).one()
        assert app_row.protocol == "saml" and app_row.launch_url.endswith(f"/t/acme/saml/launch/{sp.id}")
        assert [g.name for g in app_row.groups] == ["営業部"]
        assert (sp.nameid_format, sp.sign, sp.slo_url) == ("persistent", "assertion", "https://sp.example.com/slo")
        assert sp.acs_list == [{"url": ACS_URL, "index": 0, "default": True}]
        assert sp.encryption_algorithm == "aes256-gcm"


def test_add_saml_encryption_choice(cli, app, acme, tmp_path, sp_keys):
    cert = tmp_path / "enc.pem"
    cert.write_text(sp_keys.cert)
    result = cli("app", "add-saml", "--tenant", "acme", "--name", "経費精算", "--entity-id", SP_ENTITY,
                 "--acs-url", ACS_URL, "--encryption-cert", str(cert), "--encryption", "aes256-cbc", "--json")
    assert result.exit_code == 0, result.output
    refused = cli("app", "add-saml", "--tenant", "acme", "--name", "x", "--entity-id", SP_ENTITY + "2",
                  "--acs-url", ACS_URL, "--encryption", "aes128-cbc")
    assert refused.exit_code != 0 and "aes256-cbc" in refused.output
    with app.app_context():
        sp = db.session.query(SamlServiceProvider).one()
        assert (sp.encryption_algorithm, bool(sp.encryption_cert)) == ("aes256-cbc", True)


ENCRYPTION_METHODS = (
    '<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
    '<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/>')


@pytest.mark.parametrize("options, expected", [((), "aes256-cbc"), (("--encryption", "aes256-gcm"), "aes256-gcm")])
def test_metadata_encryption_methods_choose_cbc_unless_overridden(cli, app, client, acme, tmp_path, sp_keys,
                                                                  options, expected):
    """Metadata 2.4.1.1: an SP whose encryption key lists AES-256-CBC and not GCM gets CBC."""
    sp = OneLoginSp(client, sp_keys)
    sp.settings["security"]["wantAssertionsEncrypted"] = True
    metadata = OneLogin_Saml2_Settings(sp.settings).get_sp_metadata()
    metadata = metadata.decode() if isinstance(metadata, bytes) else metadata
    start = metadata.index('<md:KeyDescriptor use="encryption">')
    end = metadata.index("</md:KeyDescriptor>", start)
    path = tmp_path / "sp.xml"
    path.write_text(metadata[:end] + ENCRYPTION_METHODS + metadata[end:])
    result = cli("app", "add-saml", "--tenant", "acme", "--name", "勤怠", "--metadata", str(path), *options)
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.query(SamlServiceProvider).one().encryption_algorithm == expected


def test_add_saml_from_sp_metadata(cli, app, client, acme, tmp_path, sp_keys):
    sp = OneLoginSp(client, sp_keys)
    sp.settings["security"]["wantAssertionsEncrypted"] = True
    metadata = OneLogin_Saml2_Settings(sp.settings).get_sp_metadata()
    path = tmp_path / "sp.xml"
    path.write_bytes(metadata if isinstance(metadata, bytes) else metadata.encode())
    result = cli("app", "add-saml", "--tenant", "acme", "--name", "勤怠", "--metadata", str(path), "--json")
    assert result.exit_code == 0, result.output
    with app.app_context():
        row = db.session.query(SamlServiceProvider).one()
        assert row.entity_id == SP_ENTITY and row.acs_list[0]["url"] == ACS_URL
        assert row.slo_url == "https://sp.example.com/slo"
        assert row.requests_signed and "BEGIN CERTIFICATE" in row.signing_cert and row.encryption_cert


def test_metadata_import_takes_the_redirect_slo_endpoint_whatever_the_order(acme, app):
    """Shibboleth-style metadata lists SOAP, POST and Redirect SingleLogoutServices; ours go out by Redirect."""
    metadata = f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{SP_ENTITY}">
      <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
        <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP"
                                Location="https://sp.example.com/soap"/>
        <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
                                Location="https://sp.example.com/post"/>
        <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
                                Location="https://sp.example.com/redirect"/>
        <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{ACS_URL}"
                                     index="0"/>
      </md:SPSSODescriptor>
    </md:EntityDescriptor>"""
    assert saml_metadata_import.parse_sp_metadata(metadata.encode())["slo_url"] == "https://sp.example.com/redirect"


@pytest.mark.parametrize("content, message", [
    (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "DTD"),
    (b"<x", "XML"),
    (b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="e"/>', "SPSSODescriptor"),
    (b"<x>" + b"a" * 600_000 + b"</x>", "大きすぎ"),
])
def test_bad_metadata_is_named(cli, acme, tmp_path, content, message):
    path = tmp_path / "bad.xml"
    path.write_bytes(content)
    result = cli("app", "add-saml", "--tenant", "acme", "--name", "x", "--metadata", str(path), "--json")
    assert result.exit_code != 0 and message in result.output, result.output


@pytest.mark.parametrize("args, field", [
    (["--entity-id", SP_ENTITY, "--acs-url", "http://sp.example.com/acs"], "acs_url"),
    (["--entity-id", SP_ENTITY, "--acs-url", ACS_URL, "--require-signed-requests"], "cert"),
    (["--entity-id", SP_ENTITY, "--acs-url", ACS_URL, "--attribute-map", '{"nope": "x"}'], "attribute_map"),
    (["--entity-id", "", "--acs-url", ACS_URL], "entity_id"),
])
def test_invalid_options_name_the_field(cli, acme, args, field):
    result = cli("app", "add-saml", "--tenant", "acme", "--name", "x", *args, "--json")
    assert result.exit_code != 0 and field in result.output, result.output


def test_duplicate_entity_id_is_refused(cli, acme):
    args = ["app", "add-saml", "--tenant", "acme", "--name", "x", "--entity-id", SP_ENTITY, "--acs-url", ACS_URL]
    assert cli(*args).exit_code == 0
    second = cli(*args)
    assert second.exit_code != 0 and "entity_id" in second.output


def test_lookup_by_entity_id_never_overwrites_an_sp_being_edited(app, client, register):
    """find() hands out per-process copies; an SP already loaded in the session (an edit) wins."""
    from idp.saml import registry as saml_registry
    from idp.tenancy import tenants
    registration = register()
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        assert saml_registry.find(tenant, SP_ENTITY).id == registration.sp_id  # the copy is made
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        sp = saml_registry.get(tenant, registration.sp_id)
        sp.slo_url = "https://sp.example.com/new-slo"  # being edited, not flushed yet
        found = saml_registry.find(tenant, SP_ENTITY)
        assert found is sp and found.slo_url == "https://sp.example.com/new-slo"
        assert saml_registry.find(tenant, "https://unknown.example.com") is None
