"""XML signatures and encryption in-process with the `xmlsec` binding (no xmlsec1 subprocess).

Signing (XML-DSig, SAML Core 5.4): enveloped signature right after the Issuer, exclusive
c14n, RSA-SHA256, SHA-256 digest, the signing certificate in KeyInfo. Verification insists that
the signature is the message's own child and references the message's ID (no wrapping attacks).
Encryption (SAML Core 6): AES-256-GCM (or AES-256-CBC) content key, RSA-OAEP key transport.
Keys are turned into xmlsec keys once per process (cached by key id).
"""
import base64
import threading

import xmlsec
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
REDIRECT_ALGORITHMS = {
    RSA_SHA256: hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512,
}
XML_ALGORITHMS = set(REDIRECT_ALGORITHMS)
ENCRYPTION_ALGORITHMS = {"aes256-gcm": xmlsec.constants.TransformAes256Gcm,
                         "aes256-cbc": xmlsec.constants.TransformAes256Cbc}

_keys = {}
_lock = threading.Lock()


class SignatureError(Exception):
    """A missing, malformed or wrong signature."""


def _signing_key(loaded):
    """xmlsec key (private key + certificate) for a keys.LoadedKey, made once per process."""
    key = _keys.get(loaded.kid)
    if key is None:
        pem = loaded.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption())
        key = xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatPem)
        key.load_cert_from_memory(loaded.certificate.encode(), xmlsec.constants.KeyDataFormatCertPem)
        with _lock:
            _keys[loaded.kid] = key
    return key


def sign(element, loaded):
    """Add an enveloped RSA-SHA256 signature to `element` after its Issuer (Response, Assertion, Core 5.4.1),
    or as its first child without one (EntityDescriptor, Metadata 3)."""
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
    context.key = _signing_key(loaded)
    context.sign(signature)


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
