"""Single Logout (SAML Profiles 4.4) over HTTP-Redirect and HTTP-POST, front channel.

An SP's LogoutRequest must be signed (verified against its registered certificate) and name the
browser's session (NameID + SessionIndex). The session ends at once; then the propagation page
loads our signed LogoutRequest for every other SP of that session with an SLO URL, each in a
hidden frame, and goes on to the LogoutResponse for the initiating SP when the frames have loaded
or after PROPAGATION_WAIT seconds (a meta refresh and a link without JavaScript): an SP that does
not answer cannot hold the user up. A logout from the portal or an OIDC RP-initiated logout comes
to the same page through /slo/propagate (idp.saml.logout), ending at its own next page. The SPs'
LogoutResponses arrive in those frames and only get a small page. Outgoing messages use the binding
of the SP's SingleLogoutService (idp.saml.registry.slo_endpoint): HTTP-Redirect with a query signature
(Bindings 3.4.4.1), or HTTP-POST (3.5) with an enveloped signature, through a form that the page's
script (with the CSP nonce) submits into the SP's frame, or at the top for the initiating SP's answer.
"""
import base64
import logging
import zlib
from dataclasses import dataclass
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from flask import g, make_response, redirect, render_template, request
from lxml import etree
from saml2 import saml, samlp

from idp import keys
from idp.authn import sessions
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.saml import logout as saml_logout
from idp.saml import registry as saml_registry
from idp.saml import sso as saml_sso
from idp.web.sso import clear_sso_cookie
from protocols.saml.authn_request import check_common, verify_signature
from protocols.saml.blueprint import PAGE_POLICY, b64, bp, entity_id, post_page, with_policy
from protocols.saml.messages import SamlMessageError, read
from protocols.saml.responses import _issuer, instant, new_id
from protocols.saml.xml_security import RSA_SHA256, sign

log = logging.getLogger(__name__)
PROPAGATION_WAIT = 5  # seconds the page waits for the SPs' frames before it goes on
# The propagation page frames the SPs' SLO URLs (https anywhere, http on loopback only, as registered);
# their LogoutResponses come back into those frames, so our own pages here may be framed by ourselves.
FRAMING_POLICY = {**PAGE_POLICY, "frame-ancestors": "'self'",
                  "frame-src": "https: http://127.0.0.1:* http://localhost:* http://[::1]:*"}


@dataclass(frozen=True)
class Outgoing:
    """Where the browser takes a message: `url` alone (HTTP-Redirect: the whole signed URL, or a plain next
    page), or a form posting `field` (SAMLRequest/SAMLResponse) = `value` and RelayState to `url`."""

    url: str
    field: str = ""
    value: str = ""
    relay_state: str = ""


def redirect_binding_url(tenant, url, kind, message, relay_state, now):
    """Bindings 3.4.4: DEFLATE + base64 in the query, signed with the tenant's signing key."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    encoded = base64.b64encode(deflater.compress(message.to_string()) + deflater.flush()).decode()
    params = [(kind, encoded)] + ([("RelayState", relay_state)] if relay_state else []) + [("SigAlg", RSA_SHA256)]
    query = urlencode(params)
    loaded = keys.signing_key(tenant, "RS256", now)
    signature = loaded.private_key.sign(query.encode(), padding.PKCS1v15(), hashes.SHA256())
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{query}&{urlencode({'Signature': base64.b64encode(signature).decode()})}"


def outgoing(tenant, sp, kind, message, relay_state, now):
    """Our signed `message` (LogoutRequest/LogoutResponse, Destination set) over the binding of the SP's SLO."""
    url, binding = saml_registry.slo_endpoint(sp)
    if binding != saml_registry.SLO_POST:
        return Outgoing(redirect_binding_url(tenant, url, kind, message, relay_state, now))
    root = etree.fromstring(message.to_string())
    sign(root, keys.signing_key(tenant, "RS256", now))  # Bindings 3.5.4: an enveloped XML signature
    return Outgoing(url, kind, b64(etree.tostring(root)), relay_state or "")


def _logout_request(tenant, participant, now):
    """Core 3.7.1: the NameID exactly as asserted to that SP, and the session's SessionIndex."""
    sp = participant.sp
    return samlp.LogoutRequest(
        id=new_id(), version="2.0", issue_instant=instant(now), destination=saml_registry.slo_endpoint(sp)[0],
        issuer=_issuer(tenant),
        reason="urn:oasis:names:tc:SAML:2.0:logout:user",
        name_id=saml.NameID(format=participant.name_id_format, text=participant.name_id,
                            name_qualifier=entity_id(tenant), sp_name_qualifier=sp.entity_id),
        session_index=[samlp.SessionIndex(text=participant.session_index)])


def propagation_page(tenant, sso_session, next_step, now, exclude_sp_id=None):
    """Send LogoutRequests to the ended session's SPs with an SLO URL (hidden frames), then `next_step`
    (an Outgoing: the initiating SP's LogoutResponse, or the page after the logout)."""
    targets = saml_sso.front_channel_targets(sso_session, exclude_sp_id) if sso_session is not None else []
    if not targets:
        return _go(next_step)
    frames = [outgoing(tenant, t.sp, "SAMLRequest", _logout_request(tenant, t, now), "", now) for t in targets]
    saml_sso.mark_logged_out(targets, now)
    db.session.commit()
    log.info("SLO: LogoutRequests to SPs %s of session %s", [t.sp_id for t in targets], sso_session.id)
    return make_response(render_template("saml/logout.html", frames=frames, next=next_step,
                                         wait=PROPAGATION_WAIT))


def _go(step):
    if not step.field:
        return redirect(step.url)
    return make_response(post_page(step.url, step.field, step.value, step.relay_state))


def _logout_response(tenant, sp, in_response_to, relay_state, now):
    response = samlp.LogoutResponse(
        id=new_id(), version="2.0", issue_instant=instant(now), destination=saml_registry.slo_endpoint(sp)[0],
        in_response_to=in_response_to, issuer=_issuer(tenant),
        status=samlp.Status(status_code=samlp.StatusCode(value=samlp.STATUS_SUCCESS)))
    return outgoing(tenant, sp, "SAMLResponse", response, relay_state, now)


def _logout_request_received(tenant, incoming, now):
    message = samlp.logout_request_from_string(incoming.xml)
    if message is None:
        raise SamlMessageError("not a LogoutRequest")
    sp = check_common(tenant, message, "slo", now)
    verify_signature(sp, incoming, required=True)  # Profiles 4.4.4.1
    if not sp.slo_url:
        raise SamlMessageError(f"SP {sp.entity_id!r} sent a LogoutRequest but registered no SLO URL")
    if not saml_sso.remember_request(tenant, sp, message.id, now):
        raise SamlMessageError(f"replayed LogoutRequest {message.id!r} from {sp.entity_id!r}")
    name_id = message.name_id.text if message.name_id is not None else ""
    indexes = [s.text for s in message.session_index] or [""]
    ended = saml_sso.end_participant_session(tenant, sp, name_id, indexes, g.sso_session, now)
    if ended is not None:
        sessions.end(ended, now, reason="logout")
    db.session.commit()
    answer = _logout_response(tenant, sp, message.id, incoming.relay_state, now)
    response = propagation_page(tenant, ended, answer, now, exclude_sp_id=sp.id)
    return clear_sso_cookie(response) if ended is not None and ended is g.sso_session else response


def _logout_response_received(tenant, now):
    """An SP answered our LogoutRequest (in its frame): logged, whatever its status (the session is over)."""
    incoming = read(request.method, request.args, request.form, request.query_string, kind="SAMLResponse")
    message = samlp.logout_response_from_string(incoming.xml)
    if message is None:
        raise SamlMessageError("not a LogoutResponse")
    sp = check_common(tenant, message, "slo", now)
    verify_signature(sp, incoming, required=False)
    status = message.status.status_code.value if message.status and message.status.status_code else None
    log.info("SLO: LogoutResponse %s from %s to %s", status, sp.entity_id, message.in_response_to)
    return render_template("saml/logout_done.html")


@bp.route("/slo", methods=["GET", "POST"], endpoint="slo")
def slo():
    tenant, now = g.saml_tenant, current_time()
    if "SAMLResponse" in request.values:
        return _logout_response_received(tenant, now)
    return _logout_request_received(tenant, read(request.method, request.args, request.form, request.query_string),
                                    now)


@bp.get("/slo/propagate", endpoint="propagate")
def propagate():
    """After a logout elsewhere (portal, OIDC): the ended session named by the signed token `s`."""
    tenant, now = g.saml_tenant, current_time()
    loaded = saml_logout.load(tenant, request.args.get("s"))
    if loaded is None:
        raise SamlMessageError("bad or expired propagation token")
    sso_session, next_url = loaded
    return propagation_page(tenant, sso_session, Outgoing(next_url), now)


with_policy(slo, FRAMING_POLICY, frame_options="SAMEORIGIN")
with_policy(propagate, FRAMING_POLICY, frame_options="SAMEORIGIN")
