"""Single Logout (SAML Profiles §4.4), SP-initiated, over HTTP-Redirect and HTTP-POST.

A LogoutRequest must be signed by the SP (verified against its registered certificate) and name
the browser's session (NameID + SessionIndex). The session ends, then the browser visits every
other SP of that session that registered an SLO URL with our LogoutRequest (front channel, one
after the other; the chain lives in the signed form-session cookie), and finally the initiating
SP gets a LogoutResponse. Outgoing messages use the HTTP-Redirect binding with a query signature
(§3.4.4.1), which every SP stack reads.
"""
import base64
import logging
import zlib
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from flask import g, redirect, request, session, url_for
from saml2 import saml, samlp

import keys
from idp import saml_registry, saml_sso, sessions
from idp.clock import current_time
from idp.extensions import db
from idp.web import clear_sso_cookie

from .authn_request import check_common, verify_signature
from .blueprint import bp
from .messages import SamlMessageError, read
from .responses import _issuer, instant, new_id
from .xml_security import RSA_SHA256

log = logging.getLogger(__name__)
CHAIN_KEY = "saml_slo"


def redirect_binding_url(tenant, url, kind, message, relay_state, now):
    """Bindings §3.4.4: DEFLATE + base64 in the query, signed with the tenant's signing key."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    encoded = base64.b64encode(deflater.compress(message.to_string()) + deflater.flush()).decode()
    params = [(kind, encoded)] + ([("RelayState", relay_state)] if relay_state else []) + [("SigAlg", RSA_SHA256)]
    query = urlencode(params)
    loaded = keys.signing_key(tenant, "RS256", now)
    signature = loaded.private_key.sign(query.encode(), padding.PKCS1v15(), hashes.SHA256())
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{query}&{urlencode({'Signature': base64.b64encode(signature).decode()})}"


def _logout_request(tenant, participant, now):
    sp = participant.sp
    return samlp.LogoutRequest(
        id=new_id(), version="2.0", issue_instant=instant(now), destination=sp.slo_url, issuer=_issuer(tenant),
        name_id=saml.NameID(format=participant.name_id_format, text=participant.name_id,
                            sp_name_qualifier=sp.entity_id),
        session_index=[samlp.SessionIndex(text=participant.session_index)])


def _continue_chain(tenant, now):
    """Send the browser to the next SP's SLO URL, or answer the initiating SP when none is left."""
    chain = session.get(CHAIN_KEY) or {}
    while chain.get("remaining"):
        participant = saml_sso.participant_by_id(tenant, chain["remaining"].pop(0))
        if participant is None or not participant.sp.slo_url:
            continue
        message = _logout_request(tenant, participant, now)
        chain["awaiting"] = message.id
        session[CHAIN_KEY] = chain
        return redirect(redirect_binding_url(tenant, participant.sp.slo_url, "SAMLRequest", message, "", now))
    session.pop(CHAIN_KEY, None)
    initiator = saml_registry.get(tenant, chain.get("initiator_sp_id"))
    if initiator is None:
        return redirect(url_for("auth.login"))
    response = samlp.LogoutResponse(
        id=new_id(), version="2.0", issue_instant=instant(now), destination=initiator.slo_url,
        in_response_to=chain.get("in_response_to"), issuer=_issuer(tenant),
        status=samlp.Status(status_code=samlp.StatusCode(value=samlp.STATUS_SUCCESS)))
    return redirect(redirect_binding_url(tenant, initiator.slo_url, "SAMLResponse", response,
                                         chain.get("relay_state", ""), now))


def _logout_request_received(tenant, incoming, now):
    message = samlp.logout_request_from_string(incoming.xml)
    if message is None:
        raise SamlMessageError("not a LogoutRequest")
    sp = check_common(tenant, message, "slo", now)
    verify_signature(sp, incoming, required=True)  # Profiles §4.4.4.1
    if not sp.slo_url:
        raise SamlMessageError(f"SP {sp.entity_id!r} sent a LogoutRequest but registered no SLO URL")
    name_id = message.name_id.text if message.name_id is not None else ""
    indexes = [s.text for s in message.session_index] or [""]
    ended = saml_sso.end_participant_session(tenant, sp, name_id, indexes, g.sso_session, now)
    remaining = [p.id for p in saml_sso.participants(ended, exclude_sp_id=sp.id)] if ended is not None else []
    if ended is not None:
        sessions.end(ended, now, reason="logout")
    db.session.commit()
    session[CHAIN_KEY] = {"remaining": remaining, "initiator_sp_id": sp.id, "in_response_to": message.id,
                          "relay_state": incoming.relay_state}
    response = _continue_chain(tenant, now)
    return clear_sso_cookie(response) if ended is not None and ended is g.sso_session else response


def _logout_response_received(tenant, now):
    """An SP answered our LogoutRequest: go on with the chain (its status does not stop the logout)."""
    chain = session.get(CHAIN_KEY)
    incoming = read(request.method, request.args, request.form, request.query_string, kind="SAMLResponse")
    message = samlp.logout_response_from_string(incoming.xml)
    if chain is None or message is None or message.in_response_to != chain.get("awaiting"):
        raise SamlMessageError("unexpected LogoutResponse")
    return _continue_chain(tenant, now)


@bp.route("/slo", methods=["GET", "POST"], endpoint="slo")
def slo():
    tenant, now = g.saml_tenant, current_time()
    if "SAMLResponse" in request.values:
        return _logout_response_received(tenant, now)
    return _logout_request_received(tenant, read(request.method, request.args, request.form, request.query_string),
                                    now)
