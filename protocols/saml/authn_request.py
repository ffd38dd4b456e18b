"""AuthnRequest checks (SAML Core 3.4.1, Profiles 4.1.4.1) and the pending login that survives /login.

The issuer must be a registered SP of this tenant; the ACS URL (or index) must be one registered
for it, otherwise an error page (never a post to an unknown URL). SPs that require signed requests
get them verified against their registered certificate; a signature that is present is verified
whenever a certificate is registered. Expired, future-dated and replayed requests are refused.
"""
import calendar
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from saml2 import BINDING_HTTP_POST, saml, samlp

from idp.saml import registry as saml_registry
from idp.saml import sso as saml_sso
from protocols.saml.blueprint import endpoint_url
from protocols.saml.messages import SamlMessageError
from protocols.saml.xml_security import SignatureError, verify_enveloped, verify_redirect

CLOCK_SKEW = saml_sso.CLOCK_SKEW
UNKNOWN_SP = _l("このアプリは登録されていません。アプリの管理者にお問い合わせください。")
PENDING_LIFETIME = timedelta(hours=1)  # time to log in (password reset, MFA) before the request is stale


@dataclass(frozen=True)
class PendingLogin:
    tenant_id: int
    sp_id: int
    request_id: Optional[str]  # None: IdP-initiated (unsolicited response)
    acs_url: str
    relay_state: str
    force_authn: bool
    is_passive: bool
    seen: int  # epoch seconds when the request arrived (how long it may wait for a login: PENDING_LIFETIME)
    name_id_format: Optional[str] = None  # NameIDPolicy (Core 3.4.1.1): Format URN, SPNameQualifier, AllowCreate
    sp_name_qualifier: Optional[str] = None
    allow_create: bool = True
    authn_context: tuple = ()  # RequestedAuthnContext (Core 3.3.2.2.1): class refs and their Comparison
    authn_comparison: str = "exact"
    login_marker: str = ""  # this request's own login step (idp.web.sso.FRESH_LOGIN_PARAM), once it asked for one


class _Issuer:
    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text


class AuthnRequest:
    """What we read of an AuthnRequest (Core 3.4.1), straight from the tree messages.parse_xml made, under
    the names of pysaml2's message classes (check_common reads a LogoutRequest's the same way). Texts are
    the elements' whole character content (comments and child elements do not cut them short)."""

    def __init__(self, root):
        get = root.get
        self.id, self.version, self.issue_instant = get("ID"), get("Version"), get("IssueInstant")
        self.destination, self.protocol_binding = get("Destination"), get("ProtocolBinding")
        self.assertion_consumer_service_url = get("AssertionConsumerServiceURL")
        self.assertion_consumer_service_index = get("AssertionConsumerServiceIndex")
        self.force_authn, self.is_passive = get("ForceAuthn"), get("IsPassive")
        issuer = root.find(_ISSUER)
        self.issuer = None if issuer is None else _Issuer(_text(issuer))
        self.name_id_policy = root.find(_NAMEID_POLICY)  # Format, SPNameQualifier, AllowCreate
        self.requested_authn_context = root.find(_REQUESTED_CONTEXT)  # Comparison, AuthnContextClassRef*

    @classmethod
    def from_tree(cls, root):
        """The request, or None when the document is not an AuthnRequest."""
        return cls(root) if root.tag == _AUTHN_REQUEST else None


_AUTHN_REQUEST = f"{{{samlp.NAMESPACE}}}AuthnRequest"
_ISSUER = f"{{{saml.NAMESPACE}}}Issuer"
_NAMEID_POLICY = f"{{{samlp.NAMESPACE}}}NameIDPolicy"
_REQUESTED_CONTEXT = f"{{{samlp.NAMESPACE}}}RequestedAuthnContext"
_CLASS_REF = f"{{{saml.NAMESPACE}}}AuthnContextClassRef"


def _text(element):
    return "".join(element.itertext())


def epoch(moment):
    return calendar.timegm(moment.utctimetuple())


def from_epoch(seconds):
    return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)


def parse_instant(value):
    """xs:dateTime in UTC ('2026-11-22T01:02:03Z', fractions allowed) → naive UTC datetime."""
    text = (value or "").strip()
    if not text.endswith("Z"):
        raise ValueError(f"not a UTC instant: {value!r}")
    text = text[:-1].split(".")[0]
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")


def verify_signature(sp, incoming, required):
    """True when the message carries a valid signature by the SP; SamlMessageError when it must and does not."""
    has_signature = incoming.redirect_signature is not None or incoming.root.find(
        "{http://www.w3.org/2000/09/xmldsig#}Signature") is not None
    if required and not sp.signing_cert:
        raise SamlMessageError(f"SP {sp.entity_id!r} must sign but has no registered certificate")
    if not has_signature or not sp.signing_cert:
        if required:
            raise SamlMessageError(f"unsigned message from {sp.entity_id!r}, which must sign")
        return False
    try:
        if incoming.redirect_signature is not None:
            sig = incoming.redirect_signature
            verify_redirect(sig.signed_octets, sig.signature, sig.sig_alg, sp.signing_cert)
        else:
            verify_enveloped(incoming.root, sp.signing_cert)
    except SignatureError as exc:
        raise SamlMessageError(f"signature of {sp.entity_id!r}: {exc}") from exc
    return True


def check_common(tenant, message, service, now):
    """Version, Issuer → registered SP, IssueInstant freshness, Destination (requests and LogoutRequests)."""
    if message.version != "2.0":
        raise SamlMessageError(f"version {message.version!r}")
    issuer = message.issuer.text.strip() if message.issuer is not None and message.issuer.text else ""
    sp = saml_registry.find(tenant, issuer)
    if sp is None:
        raise SamlMessageError(f"unknown issuer {issuer!r} at tenant {tenant.slug}",
                               message=UNKNOWN_SP)
    try:
        issued = parse_instant(message.issue_instant)
    except ValueError as exc:
        raise SamlMessageError(f"IssueInstant: {exc}") from exc
    if issued > now + CLOCK_SKEW or issued < now - saml_sso.REQUEST_LIFETIME:
        raise SamlMessageError(f"expired or future IssueInstant {message.issue_instant} (now {now:%Y-%m-%dT%H:%M:%S})")
    if message.destination and message.destination != endpoint_url(tenant, service):
        raise SamlMessageError(f"Destination {message.destination!r}")
    if not message.id or len(message.id) > 256:
        raise SamlMessageError("missing or oversized ID")
    return sp


def parse(tenant, incoming, now):
    """(validated PendingLogin, SP) from an AuthnRequest, or SamlMessageError (400 page). The replay check
    comes with the answer's other writes (`saml_sso.conclude`)."""
    request = AuthnRequest.from_tree(incoming.root)
    if request is None:
        raise SamlMessageError("not an AuthnRequest")
    sp = check_common(tenant, request, "sso", now)
    verify_signature(sp, incoming, required=sp.requests_signed)
    if request.protocol_binding and request.protocol_binding != BINDING_HTTP_POST:
        raise SamlMessageError(f"unsupported ProtocolBinding {request.protocol_binding!r}")
    acs_url = saml_registry.acs_for(sp, request.assertion_consumer_service_url,
                                    request.assertion_consumer_service_index)
    if acs_url is None:
        raise SamlMessageError(f"unregistered ACS {request.assertion_consumer_service_url!r} / index "
                               f"{request.assertion_consumer_service_index!r} for {sp.entity_id!r}")
    policy, context = request.name_id_policy, request.requested_authn_context
    return PendingLogin(tenant_id=tenant.id, sp_id=sp.id, request_id=request.id, acs_url=acs_url,
                        relay_state=incoming.relay_state, force_authn=request.force_authn in ("true", "1"),
                        is_passive=request.is_passive in ("true", "1"), seen=epoch(now),
                        name_id_format=policy.get("Format") if policy is not None else None,
                        sp_name_qualifier=policy.get("SPNameQualifier") if policy is not None else None,
                        allow_create=policy is None or policy.get("AllowCreate") not in ("false", "0"),
                        authn_context=_class_refs(context),
                        authn_comparison=(context.get("Comparison") or "exact") if context is not None else "exact"), sp


def _class_refs(context):
    """The AuthnContextClassRefs of a RequestedAuthnContext (Core 3.3.2.2.1), in order, empty ones left out."""
    if context is None:
        return ()
    return tuple(text.strip() for text in map(_text, context.findall(_CLASS_REF)) if text)


def _serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="saml-pending-login")


def dump_pending(pending):
    return _serializer().dumps(asdict(pending))


def load_pending(tenant, token, now):
    try:
        pending = PendingLogin(**_serializer().loads(token or ""))
    except (BadSignature, TypeError) as exc:
        raise SamlMessageError(f"bad pending login token: {exc}") from exc
    if pending.tenant_id != tenant.id or from_epoch(pending.seen) < now - PENDING_LIFETIME:
        raise SamlMessageError("stale or foreign pending login")
    return pending
