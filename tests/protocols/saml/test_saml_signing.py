"""Our enveloped signatures (protocols.saml.xml_security.sign: lxml c14n + cryptography) are exactly the ones
xmlsec's template signing makes for the same message (RSA PKCS#1 v1.5 is deterministic: the same bytes),
and xmlsec verifies them."""
import base64
import uuid
from types import SimpleNamespace

import pytest
import xmlsec
from cryptography.hazmat.primitives import serialization
from lxml import etree

from protocols.saml.xml_security import DSIG, SAML, SignatureError, sign, verify_enveloped
from tests.protocols.saml.conftest import make_key_pair

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
RESPONSE = (  # namespaces declared at the root and used deep inside, text that c14n escapes, Japanese
    f'<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="_r1" Version="2.0" '
    'IssueInstant="2026-12-05T01:29:39Z" Destination="https://sp.example.com/acs?a=1&amp;b=&quot;2&quot;">'
    '<saml:Issuer>https://idp.example.com/metadata</saml:Issuer>'
    f'<samlp:Status><samlp:StatusCode Value="{SAMLP[:-8]}status:Success"/></samlp:Status>'
    '<saml:Assertion ID="_a1" Version="2.0" IssueInstant="2026-12-05T01:29:39Z">'
    '<saml:Issuer>https://idp.example.com/metadata</saml:Issuer>'
    '<saml:Subject><saml:NameID>taro@acme.example.com</saml:NameID></saml:Subject>'
    '<saml:AttributeStatement><saml:Attribute Name="name">'
    '<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xsi:type="xs:string">'
    '山田 太郎 &lt;&amp;&gt; "x"&#13;</saml:AttributeValue>'
    '</saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>')
METADATA = (  # no Issuer (the signature goes first), a default namespace
    '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" ID="_m1" '
    'entityID="https://idp.example.com/metadata"><IDPSSODescriptor '
    f'protocolSupportEnumeration="{SAMLP}"/></EntityDescriptor>')


@pytest.fixture(scope="module")
def loaded():
    pair = make_key_pair("idp.example.com")
    return SimpleNamespace(kid=str(uuid.uuid4()), certificate=pair.cert, key_pem=pair.key,
                           private_key=serialization.load_pem_private_key(pair.key.encode(), password=None))


def xmlsec_sign(element, loaded):
    """The reference: the signature xmlsec's template makes (as this project signed before)."""
    signature = xmlsec.template.create(element, xmlsec.constants.TransformExclC14N,
                                       xmlsec.constants.TransformRsaSha256, ns="ds")
    issuer = element.find(f"{{{SAML}}}Issuer")
    if issuer is not None:
        issuer.addnext(signature)
    else:
        element.insert(0, signature)
    reference = xmlsec.template.add_reference(signature, xmlsec.constants.TransformSha256,
                                              uri="#" + element.get("ID"))
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformEnveloped)
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformExclC14N)
    xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
    xmlsec.tree.add_ids(element, ["ID"])
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(loaded.key_pem.encode(), xmlsec.constants.KeyDataFormatPem)
    context.key.load_cert_from_memory(loaded.certificate.encode(), xmlsec.constants.KeyDataFormatCertPem)
    context.sign(signature)


def values(element):
    """(DigestValue, SignatureValue) of the element's own signature, base64 without line breaks."""
    signature = element.find(f"{{{DSIG}}}Signature")
    return tuple("".join(signature.findtext(path, namespaces={"ds": DSIG}).split())
                 for path in ("ds:SignedInfo/ds:Reference/ds:DigestValue", "ds:SignatureValue"))


def signed_twice(signer, loaded):
    root = etree.fromstring(RESPONSE.encode())
    signer(root.find(f"{{{SAML}}}Assertion"), loaded)  # the assertion first, then the response around it
    signer(root, loaded)
    return root


def test_response_and_assertion_signatures_are_those_of_xmlsec(loaded):
    ours, reference = signed_twice(sign, loaded), signed_twice(xmlsec_sign, loaded)
    for path in (".", f"{{{SAML}}}Assertion"):
        assert values(ours.find(path)) == values(reference.find(path))
    assert etree.tostring(ours) == etree.tostring(reference)  # the whole message, byte for byte
    verify_enveloped(ours, loaded.certificate)
    verify_enveloped(ours.find(f"{{{SAML}}}Assertion"), loaded.certificate)
    children = [child.tag for child in ours]
    assert children[:2] == [f"{{{SAML}}}Issuer", f"{{{DSIG}}}Signature"]  # Core 5.4.1: right after the Issuer


def test_metadata_signature_goes_first_and_equals_xmlsec(loaded):
    ours, reference = etree.fromstring(METADATA.encode()), etree.fromstring(METADATA.encode())
    sign(ours, loaded)
    xmlsec_sign(reference, loaded)
    assert ours[0].tag == f"{{{DSIG}}}Signature"
    assert values(ours) == values(reference)
    assert etree.tostring(ours) == etree.tostring(reference)
    certificate = ours.findtext(f".//{{{DSIG}}}X509Certificate")
    assert base64.b64decode(certificate) == base64.b64decode(
        "".join(line for line in loaded.certificate.splitlines() if "-----" not in line))
    verify_enveloped(ours, loaded.certificate)


def test_a_message_changed_after_signing_does_not_verify(loaded):
    root = signed_twice(sign, loaded)
    root.find(f".//{{{SAML}}}NameID").text = "admin@acme.example.com"
    with pytest.raises(SignatureError):
        verify_enveloped(root.find(f"{{{SAML}}}Assertion"), loaded.certificate)
    with pytest.raises(SignatureError):
        verify_enveloped(root, loaded.certificate)
