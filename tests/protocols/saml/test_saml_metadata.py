"""IdP metadata: schema-valid, read back by pysaml2, certificates published before they sign."""
from datetime import timedelta

from lxml import etree
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML
from saml2 import md

from tests.protocols.saml.conftest import decode_response, posted_form


def test_metadata_is_schema_valid_and_parses_back(client, acme):
    response = client.get("/t/acme/saml/metadata")
    assert response.status_code == 200
    assert response.mimetype == "application/samlmetadata+xml"
    xml = response.get_data()
    assert not isinstance(OneLogin_Saml2_XML.validate_xml(xml, "saml-schema-metadata-2.0.xsd"), str)
    entity = md.entity_descriptor_from_string(xml)
    assert entity.entity_id == "http://127.0.0.1:8000/t/acme/saml/metadata"
    idp = entity.idpsso_descriptor[0]
    assert {s.location for s in idp.single_sign_on_service} == {"http://127.0.0.1:8000/t/acme/saml/sso"}
    assert {s.binding for s in idp.single_sign_on_service} == {
        "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"}
    assert {s.location for s in idp.single_logout_service} == {"http://127.0.0.1:8000/t/acme/saml/slo"}
    assert {f.text for f in idp.name_id_format} == {
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"}
    assert len(idp.key_descriptor) == 1


def test_signed_metadata_is_schema_valid_and_verifies(client, acme):
    response = client.get("/t/acme/saml/metadata?signed=1")
    xml = response.get_data()
    assert not isinstance(OneLogin_Saml2_XML.validate_xml(xml, "saml-schema-metadata-2.0.xsd"), str)
    entity = md.entity_descriptor_from_string(xml)
    assert entity.signature is not None and entity.id
    cert = OneLogin_Saml2_Utils.format_cert(
        entity.idpsso_descriptor[0].key_descriptor[0].key_info.x509_data[0].x509_certificate.text)
    assert OneLogin_Saml2_Utils.validate_metadata_sign(xml, cert=cert)
    assert not OneLogin_Saml2_Utils.validate_metadata_sign(xml.replace(b"/saml/sso", b"/saml/sso2"), cert=cert)
    parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml.decode())
    assert parsed["idp"]["entityId"] == "http://127.0.0.1:8000/t/acme/saml/metadata"
    assert md.entity_descriptor_from_string(client.get("/t/acme/saml/metadata").get_data()).signature is None


def certificates(client):
    entity = md.entity_descriptor_from_string(client.get("/t/acme/saml/metadata").get_data())
    return ["".join(k.key_info.x509_data[0].x509_certificate.text.split())
            for k in entity.idpsso_descriptor[0].key_descriptor]


def signing_certificate(answer):
    """The certificate in the KeyInfo of the Response's signature (the key that signed it)."""
    root = etree.fromstring(decode_response(posted_form(answer)[1]))
    return "".join(root.find("{http://www.w3.org/2000/09/xmldsig#}Signature").findtext(
        ".//{http://www.w3.org/2000/09/xmldsig#}X509Certificate").split())


def test_rotation_publishes_the_next_certificate_before_it_signs(app, client, login, register, onelogin_sp, clock):
    register()
    login()
    old = certificates(client)
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--tenant", "acme", "--prepublish-seconds", "60",
                                                "--json"])
    assert result.exit_code == 0, result.output
    published = certificates(client)
    assert len(published) == 2 and published[0] == old[0]
    new = published[1]
    sp = onelogin_sp()  # an SP that reads the metadata now: both certificates
    answer = client.get(sp.login_url())
    assert signing_certificate(answer) == old[0]  # still the old key during the pre-publication
    sp.accept(answer)

    clock.advance(seconds=61)
    answer = client.get(sp.login_url())
    assert signing_certificate(answer) == new  # the key every SP has seen for a minute now
    sp.accept(answer)  # an SP that fetched the metadata after the rotation accepts both
    assert new in certificates(client) and old[0] in certificates(client)  # the old one stays for a while
    clock.advance(seconds=int(timedelta(days=3).total_seconds()))
    assert certificates(client) == [new]


def test_tenants_have_their_own_certificates(client, factory, acme):
    factory.tenant("other")
    first = md.entity_descriptor_from_string(client.get("/t/acme/saml/metadata").get_data())
    second = md.entity_descriptor_from_string(client.get("/t/other/saml/metadata").get_data())

    def cert(entity):
        return entity.idpsso_descriptor[0].key_descriptor[0].key_info.x509_data[0].x509_certificate.text
    assert cert(first) != cert(second)
