"""Read an SP's SAML metadata (Metadata 2.4.4) into registration values, safely.

The document is parsed with defusedxml (no DTDs, no entities, no external references) after a
size check; the errors name what is missing so an operator can fix the file.
"""
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from flask_babel import lazy_gettext as _l

from idp.platform.errors import ValidationError
from idp.saml.registry import SLO_POST, SLO_REDIRECT

MAX_METADATA_BYTES = 512 * 1024
MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
ENCRYPTION_URIS = {"http://www.w3.org/2009/xmlenc11#aes256-gcm": "aes256-gcm",  # preferred first
                   "http://www.w3.org/2001/04/xmlenc#aes256-cbc": "aes256-cbc"}
NAMEID_BY_URN = {
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress": "email",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent": "persistent",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified": "unspecified",
}


def _fail(message, detail):
    raise ValidationError({"metadata": [message]}, detail=detail)


def _certificates(descriptor, uses):
    found = []
    for key in descriptor.findall(f"{MD}KeyDescriptor"):
        if key.get("use") in uses:
            found += [c.text.strip() for c in key.iter(f"{DS}X509Certificate") if c.text and c.text.strip()]
    return found


def _descriptor(data):
    """(EntityDescriptor, SPSSODescriptor) of a metadata document, or ValidationError."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_METADATA_BYTES:
        _fail(_l("メタデータが大きすぎます。"), f"metadata of {len(raw)} bytes")
    try:
        root = fromstring(raw, forbid_dtd=True)
    except (DefusedXmlException, SyntaxError, ValueError) as exc:
        _fail(_l("メタデータのXMLを読み取れません（DTDや実体参照は使えません）。"), f"metadata XML: {exc}")
    if root.tag != f"{MD}EntityDescriptor":
        _fail(_l("メタデータにEntityDescriptorがありません。"), f"root element {root.tag}")
    descriptor = root.find(f"{MD}SPSSODescriptor")
    if descriptor is None:
        _fail(_l("メタデータにSPSSODescriptorがありません。"), "no SPSSODescriptor")
    return root, descriptor


def encryption_algorithm_of(data):
    """The content encryption (idp.saml.registry.ENCRYPTION_ALGORITHMS) the SP's metadata asks for with the
    EncryptionMethod elements of its encryption key (Metadata 2.4.1.1): AES-256-GCM when listed, else
    AES-256-CBC when listed; None when it lists neither (or nothing): the registration's choice applies."""
    _root, descriptor = _descriptor(data)
    listed = {method.get("Algorithm") for key in descriptor.findall(f"{MD}KeyDescriptor")
              if key.get("use") in (None, "encryption") for method in key.findall(f"{MD}EncryptionMethod")}
    return next((name for uri, name in ENCRYPTION_URIS.items() if uri in listed), None)


def parse_sp_metadata(data):
    """bytes/str of an EntityDescriptor → dict(entity_id, acs_urls, slo_url, slo_binding, signing_cert,
    encryption_cert, requests_signed, nameid_format)."""
    root, descriptor = _descriptor(data)
    acs = [(e.get("Location", ""), e.get("index", str(n)), e.get("isDefault") == "true")
           for n, e in enumerate(descriptor.findall(f"{MD}AssertionConsumerService"))
           if e.get("Binding") == POST_BINDING]
    if not acs:
        _fail(_l("メタデータにHTTP-POSTのAssertionConsumerServiceがありません。"), "no HTTP-POST ACS")
    # our LogoutRequests and LogoutResponses go out over HTTP-Redirect when the SP offers it (whatever the
    # order), else over HTTP-POST; an SP with only SOAP gets no SLO
    slo = [(e.get("Location", ""), SLO_POST if binding == POST_BINDING else SLO_REDIRECT)
           for binding in (REDIRECT_BINDING, POST_BINDING)
           for e in descriptor.findall(f"{MD}SingleLogoutService") if e.get("Binding") == binding]
    formats = [NAMEID_BY_URN[e.text.strip()] for e in descriptor.findall(f"{MD}NameIDFormat")
               if e.text and e.text.strip() in NAMEID_BY_URN]
    # a key without `use` verifies requests; only an explicit encryption key turns encryption on
    signing, encryption = _certificates(descriptor, (None, "signing")), _certificates(descriptor, ("encryption",))
    return {
        "entity_id": root.get("entityID", ""),
        "acs_urls": acs,
        "slo_url": slo[0][0] if slo else "",
        "slo_binding": slo[0][1] if slo else SLO_REDIRECT,
        "signing_cert": signing[0] if signing else "",
        "encryption_cert": encryption[0] if encryption else "",
        "requests_signed": descriptor.get("AuthnRequestsSigned") in ("true", "1"),
        "nameid_format": formats[0] if formats else "email",
    }
