"""IdP metadata: schema-valid, read back by pysaml2, certificates published before they sign."""
from datetime import timedelta

from onelogin.saml2.xml_utils import OneLogin_Saml2_XML
from saml2 import md

import keys
from idp import tenants
from idp.audit import OPERATOR
from idp.extensions import db


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


def test_rotation_publishes_the_next_certificate_first(app, client, acme, clock):
    with app.app_context():
        keys.rotate(tenants.get_by_slug("acme"), clock.now(), OPERATOR)
        db.session.commit()
    entity = md.entity_descriptor_from_string(client.get("/t/acme/saml/metadata").get_data())
    assert len(entity.idpsso_descriptor[0].key_descriptor) == 2
    clock.advance(seconds=int(timedelta(days=30).total_seconds()))
    entity = md.entity_descriptor_from_string(client.get("/t/acme/saml/metadata").get_data())
    assert len(entity.idpsso_descriptor[0].key_descriptor) == 1


def test_tenants_have_their_own_certificates(client, factory, acme):
    factory.tenant("other")
    first = md.entity_descriptor_from_string(client.get("/t/acme/saml/metadata").get_data())
    second = md.entity_descriptor_from_string(client.get("/t/other/saml/metadata").get_data())

    def cert(entity):
        return entity.idpsso_descriptor[0].key_descriptor[0].key_info.x509_data[0].x509_certificate.text
    assert cert(first) != cert(second)
