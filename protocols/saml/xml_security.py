"""XML signatures and encryption in-process: signing with `cryptography` and lxml's exclusive c14n,
verification and encryption with the `xmlsec` binding (no xmlsec1 subprocess).

Signing (XML-DSig, SAML Core 5.4): enveloped signature right after the Issuer, exclusive
c14n, RSA-SHA256, SHA-256 digest, the signing certificate in KeyInfo. It is the signature the
xmlsec template would make (tests/protocols/saml/test_saml_signing.py compares both), computed
directly: the digest of the element's canonical form before the signature goes in (what the
enveloped-signature transform leaves), then RSA over the canonical SignedInfo.
Verification insists that the signature is the message's own child and references the message's ID
(no wrapping attacks). Encryption (SAML Core 6): AES-256-GCM (or AES-256-CBC) content key, RSA-OAEP
key transport. The certificate's base64 body is taken from its PEM once per process (cached by key id).
`xmlsec` is imported by the functions that use it: a worker whose SPs neither sign their requests nor
want encrypted assertions does without its ~6 MB (docs/performance.md, Memory).
"""
import base64
import hashlib

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
REDIRECT_ALGORITHMS = {
    RSA_SHA256: hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512,
}
XML_ALGORITHMS = set(REDIRECT_ALGORITHMS)
ENCRYPTION_ALGORITHMS = {"aes256-gcm": "TransformAes256Gcm", "aes256-cbc": "TransformAes256Cbc"}  # xmlsec.constants
# The element xmlsec.template.create + add_reference (enveloped, exc-c14n) + add_x509_data makes, line
# breaks included; the values (Reference URI, DigestValue, SignatureValue, X509Certificate) are set per message.
# Parsed for each signature in the signing thread (no tree shared between threads).
_SIGNATURE = (
    f'<ds:Signature xmlns:ds="{DSIG}">\n<ds:SignedInfo>\n'
    f'<ds:CanonicalizationMethod Algorithm="{EXC_C14N}"/>\n'
    f'<ds:SignatureMethod Algorithm="{RSA_SHA256}"/>\n'
    f'<ds:Reference URI="">\n<ds:Transforms>\n'
    f'<ds:Transform Algorithm="{DSIG}enveloped-signature"/>\n'
    f'<ds:Transform Algorithm="{EXC_C14N}"/>\n</ds:Transforms>\n'
    f'<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>\n'
    f'<ds:DigestValue/>\n</ds:Reference>\n</ds:SignedInfo>\n'
    f'<ds:SignatureValue/>\n<ds:KeyInfo>\n<ds:X509Data>\n<ds:X509Certificate/>\n</ds:X509Data>\n'
    f'</ds:KeyInfo>\n</ds:Signature>').encode()
_certificate_bodies = {}


class SignatureError(Exception):
    """A missing, malformed or wrong signature."""


def _certificate_body(loaded):
    """The base64 lines of the key's certificate PEM (X509Certificate), once per process."""
    body = _certificate_bodies.get(loaded.kid)
    if body is None:
        body = _certificate_bodies[loaded.kid] = "\n".join(
            line for line in loaded.certificate.strip().splitlines() if "-----" not in line) + "\n"
    return body


def canonical(element):
    """Exclusive c14n without comments of `element`'s subtree (what a same-document `#ID` reference selects)."""
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def sign(element, loaded):
    """Add an enveloped RSA-SHA256 signature to `element` after its Issuer (Response, Assertion, Core 5.4.1),
    or as its first child without one (EntityDescriptor, Metadata 3)."""
    digest = base64.b64encode(hashlib.sha256(canonical(element)).digest()).decode("ascii")
    signature = etree.fromstring(_SIGNATURE)
    signed_info, signature_value, key_info = signature
    reference = signed_info[2]
    reference.set("URI", "#" + element.get("ID"))
    reference[2].text = digest
    key_info[0][0].text = _certificate_body(loaded)
    issuer = element.find(f"{{{SAML}}}Issuer")
    if issuer is not None:
        issuer.addnext(signature)
    else:
        element.insert(0, signature)
    value = base64.b64encode(loaded.private_key.sign(canonical(signed_info), padding.PKCS1v15(), hashes.SHA256()))
    signature_value.text = b"\n".join(value[i:i + 64] for i in range(0, len(value), 64)).decode("ascii")  # as xmlsec


def _certificate_key(pem):
    import xmlsec
    return xmlsec.Key.from_memory(pem.encode(), xmlsec.constants.KeyDataFormatCertPem)


def verify_enveloped(root, certificate_pem):
    """Verify the signature of the message `root` with the SP's registered certificate."""
    signature = root.find(f"{{{DSIG}}}Signature")
    if signature is None:
        raise SignatureError("no signature")
    references = signature.findall(f"{{{DSIG}}}SignedInfo/{{{DSIG}}}Reference")
    method = signature.find(f"{{{DSIG}}}SignedInfo/{{{DSIG}}}SignatureMethod")
    if len(references) != 1 or references[0].get("URI") != "#" + (root.get("ID") or "\0"):
        raise SignatureError("the signature does not reference the message")
    if method is None or method.get("Algorithm") not in XML_ALGORITHMS:
        raise SignatureError("unsupported signature algorithm")
    import xmlsec
    xmlsec.tree.add_ids(root, ["ID"])
    context = xmlsec.SignatureContext()
    context.key = _certificate_key(certificate_pem)
    try:
        context.verify(signature)
    except xmlsec.Error as exc:
        raise SignatureError(f"bad signature: {exc}") from exc


def verify_redirect(signed_octets, signature_b64, sig_alg, certificate_pem):
    """HTTP-Redirect binding 3.4.4.1: RSA signature over the query parts exactly as received."""
    algorithm = REDIRECT_ALGORITHMS.get(sig_alg)
    if algorithm is None:
        raise SignatureError(f"unsupported SigAlg {sig_alg!r}")
    try:
        public_key = x509.load_pem_x509_certificate(certificate_pem.encode()).public_key()
        public_key.verify(base64.b64decode(signature_b64, validate=True), signed_octets, padding.PKCS1v15(),
                          algorithm())
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise SignatureError("bad redirect signature") from exc


def encrypt_assertion(assertion, certificate_pem, algorithm="aes256-gcm"):
    """Replace `assertion` by an EncryptedAssertion for the SP's certificate (RSA-OAEP key transport)."""
    import xmlsec
    parent = assertion.getparent()
    encrypted_assertion = etree.Element(f"{{{SAML}}}EncryptedAssertion", nsmap={"saml": SAML})
    parent.replace(assertion, encrypted_assertion)
    encrypted_assertion.append(assertion)
    method = getattr(xmlsec.constants, ENCRYPTION_ALGORITHMS[algorithm])
    template = xmlsec.template.encrypted_data_create(encrypted_assertion, method,
                                                     type=xmlsec.constants.TypeEncElement, ns="xenc")
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="ds")
    encrypted_key = xmlsec.template.add_encrypted_key(key_info, xmlsec.constants.TransformRsaOaep)
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)
    manager = xmlsec.KeysManager()
    manager.add_key(_certificate_key(certificate_pem))
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(xmlsec.constants.KeyDataAes, 256, xmlsec.constants.KeyDataTypeSession)
    encrypted = context.encrypt_xml(template, assertion)
    encrypted_assertion.append(encrypted)
    return encrypted_assertion
