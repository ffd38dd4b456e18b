"""One reader for SAML messages over HTTP-Redirect (DEFLATE, Bindings 3.4) and HTTP-POST (3.5).

Hostile input stops here with `SamlMessageError` (a 400 page, details in the log): size limits
before and after inflating (no DEFLATE bombs), strict base64, XML without any DTD (so no entity
expansion or external entities) and no network access while parsing.
"""
import base64
import binascii
import zlib
from dataclasses import dataclass
from typing import Optional
from urllib.parse import unquote_plus

from flask_babel import lazy_gettext as _l
from lxml import etree

from idp.platform.errors import ServiceError

MAX_ENCODED = 100 * 1024
MAX_XML = 200 * 1024
MAX_RELAY_STATE = 80  # Bindings 3.4.3, 3.5.3
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=False)


class SamlMessageError(ServiceError):
    """A request we cannot answer to any SP: an error page, never a post."""

    def __init__(self, detail, message=None):
        super().__init__(message or _l("SAMLリクエストが正しくありません。アプリの管理者にお問い合わせください。"),
                         detail=detail)


@dataclass(frozen=True)
class RedirectSignature:
    signed_octets: bytes
    signature: str
    sig_alg: str


@dataclass(frozen=True)
class Incoming:
    xml: bytes
    root: object  # lxml element
    relay_state: str
    binding: str  # "redirect" | "post"
    redirect_signature: Optional[RedirectSignature]


def _inflate(data):
    inflater = zlib.decompressobj(-15)
    try:
        xml = inflater.decompress(data, MAX_XML + 1)
    except zlib.error as exc:
        raise SamlMessageError(f"bad DEFLATE data: {exc}") from exc
    if len(xml) > MAX_XML or inflater.unconsumed_tail:
        raise SamlMessageError("inflated message too large")
    return xml


def _b64(value):
    if len(value) > MAX_ENCODED:
        raise SamlMessageError(f"encoded message of {len(value)} bytes")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SamlMessageError(f"bad base64: {exc}") from exc


def parse_xml(xml):
    if len(xml) > MAX_XML:
        raise SamlMessageError("message too large")
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SamlMessageError(f"malformed XML: {exc}") from exc
    if root is None:
        raise SamlMessageError("empty XML")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise SamlMessageError("XML with a DTD")
    return root


def _raw_query_parts(query_string):
    """{name: raw value} exactly as received (the Redirect signature covers these octets)."""
    parts = {}
    for item in query_string.split(b"&"):
        name, _sep, value = item.partition(b"=")
        parts.setdefault(unquote_plus(name.decode("ascii", "replace")), value)
    return parts


def _redirect_signature(query_string, kind):
    raw = _raw_query_parts(query_string)
    if b"Signature" not in {k.encode() for k in raw}:
        return None
    order = [kind, "RelayState", "SigAlg"]
    signed = b"&".join(f"{name}=".encode() + raw[name] for name in order if name in raw)
    return RedirectSignature(signed_octets=signed, signature=unquote_plus(raw["Signature"].decode("ascii", "replace")),
                             sig_alg=unquote_plus(raw.get("SigAlg", b"").decode("ascii", "replace")))


def read(method, args, form, query_string, kind="SAMLRequest"):
    """The message `kind` (SAMLRequest or SAMLResponse) from a GET (Redirect) or POST request."""
    if method == "GET":
        encoded, relay_state, binding = args.get(kind), args.get("RelayState", ""), "redirect"
    else:
        encoded, relay_state, binding = form.get(kind), form.get("RelayState", ""), "post"
    if not encoded:
        raise SamlMessageError(f"no {kind}")
    if len(relay_state) > MAX_RELAY_STATE:
        raise SamlMessageError("RelayState longer than 80 bytes")
    data = _b64(encoded)
    xml = _inflate(data) if binding == "redirect" else data
    signature = _redirect_signature(query_string, kind) if binding == "redirect" else None
    return Incoming(xml=xml, root=parse_xml(xml), relay_state=relay_state, binding=binding,
                    redirect_signature=signature)
