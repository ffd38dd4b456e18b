"""XML signatures and encryption in-process (no xmlsec1 subprocess).

Signing (XML-DSig, SAML Core §5.4): enveloped signature right after the Issuer, exclusive
c14n, RSA-SHA256, SHA-256 digest, the signing certificate in KeyInfo. Verification insists that
the signature is the message's own child and references the message's ID (no wrapping attacks).
Encryption (SAML Core §6): AES-256-GCM (or AES-256-CBC) content key, RSA-OAEP key transport.
Our signatures are made with the process's parsed signing key (`cryptography`), verification and
encryption with the `xmlsec` binding.
"""
import base64
import hashlib

import xmlsec
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
REDIRECT_ALGORITHMS = {
    RSA_SHA256: hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512,
}
XML_ALGORITHMS = set(REDIRECT_ALGORITHMS)
ENCRYPTION_ALGORITHMS = {"aes256-gcm": xmlsec.constants.TransformAes256Gcm,
                         "aes256-cbc": xmlsec.constants.TransformAes256Cbc}

_bodies = {}


class SignatureError(Exception):
    """A missing, malformed or wrong signature."""


def _certificate_body(pem):
    """The base64 of a PEM certificate, as X509Certificate holds it (cached: one per signing key)."""
    body = _bodies.get(pem)
    if body is None:
        body = _bodies[pem] = "".join(line for line in pem.strip().splitlines() if "-----" not in line)
    return body


def _ds(parent, name, text=None, **attributes):
    element = etree.SubElement(parent, f"{{{DSIG}}}{name}", attributes)
    element.text = text
    return element


def _c14n(element):
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def sign(element, loaded):
    """Add an enveloped RSA-SHA256 signature to `element` after its Issuer (Response, Assertion, Core §5.4.1),
    or as its first child without one (EntityDescriptor, Metadata §3).

    XML-DSig §3.1 directly: the digest of the element's exclusive canonical form (taken before the
    Signature is in it, which is what the enveloped-signature transform yields), then the RSA signature
    of the canonical SignedInfo with the process's parsed key (`keys.load`). The xmlsec binding would
    copy the key (and its certificate) into every signing context, which costs more than the RSA operation.
    """
    digest = base64.b64encode(hashlib.sha256(_c14n(element)).digest()).decode()
    signature = etree.Element(f"{{{DSIG}}}Signature", nsmap={"ds": DSIG})
    signed_info = _ds(signature, "SignedInfo")
    _ds(signed_info, "CanonicalizationMethod", Algorithm=EXC_C14N)
    _ds(signed_info, "SignatureMethod", Algorithm=RSA_SHA256)
    reference = _ds(signed_info, "Reference", URI="#" + element.get("ID"))
    transforms = _ds(reference, "Transforms")
    _ds(transforms, "Transform", Algorithm=ENVELOPED)
    _ds(transforms, "Transform", Algorithm=EXC_C14N)
    _ds(reference, "DigestMethod", Algorithm=SHA256)
    _ds(reference, "DigestValue", digest)
    issuer = element.find(f"{{{SAML}}}Issuer")
    if issuer is not None:
        issuer.addnext(signature)
    else:
        element.insert(0, signature)
    value = loaded.private_key.sign(_c14n(signed_info), padding.PKCS1v15(), hashes.SHA256())  # in place: c14n
    _ds(signature, "SignatureValue", base64.b64encode(value).decode())                        # sees the context
    _ds(_ds(_ds(signature, "KeyInfo"), "X509Data"), "X509Certificate", _certificate_body(loaded.certificate))


def _certificate_key(pem):
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
    xmlsec.tree.add_ids(root, ["ID"])
    context = xmlsec.SignatureContext()
    context.key = _certificate_key(certificate_pem)
    try:
        context.verify(signature)
    except xmlsec.Error as exc:
        raise SignatureError(f"bad signature: {exc}") from exc


def verify_redirect(signed_octets, signature_b64, sig_alg, certificate_pem):
    """HTTP-Redirect binding §3.4.4.1: RSA signature over the query parts exactly as received."""
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
    parent = assertion.getparent()
    encrypted_assertion = etree.Element(f"{{{SAML}}}EncryptedAssertion", nsmap={"saml": SAML})
    parent.replace(assertion, encrypted_assertion)
    encrypted_assertion.append(assertion)
    template = xmlsec.template.encrypted_data_create(
        encrypted_assertion, ENCRYPTION_ALGORITHMS[algorithm], type=xmlsec.constants.TypeEncElement, ns="xenc")
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
