"""Token endpoint (RFC 6749 3.2): authorization_code (+ PKCE), refresh_token, client_credentials;
DPoP-bound tokens when the request carries a DPoP proof (RFC 9449 5, rules in idp.oidc.dpop).

Errors are Authlib's OAuth error types, answered as RFC 6749 5.2 JSON. The transaction is
committed even on errors: a replayed code or refresh token has just revoked its family.
"""
from authlib.oauth2.rfc6749.errors import (InvalidRequestError, OAuth2Error, UnauthorizedClientError,
                                           UnsupportedGrantTypeError)
from flask import current_app, g, jsonify, request

from idp.oidc import dpop
from idp.oidc import tokens as oidc_tokens
from idp.oidc.dpop import InvalidDpopProofError
from idp.oidc.token_response import token_response
from idp.platform import metrics
from idp.platform.clock import current_time
from idp.platform.extensions import db
from protocols.oidc import client_auth
from protocols.oidc.blueprint import bp, endpoint_url

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_error(exc):
    status, body, headers = exc()
    response = jsonify(body)
    response.status_code = status
    for name, value in headers:
        if name.lower() != "content-type":
            response.headers[name] = value
    response.headers.update(NO_STORE)
    return response


def _required(form, name):
    value = form.get(name)
    if not value:
        raise InvalidRequestError(f"{name} is required")
    return value


def _authorization_code(tenant, client, form, now, jkt):
    code = _required(form, "code")
    issuance, nonce = oidc_tokens.redeem_code(tenant, client, code, redirect_uri=_required(form, "redirect_uri"),
                                              code_verifier=form.get("code_verifier"), now=now)
    return token_response(tenant, client, issuance, now, nonce=nonce, jkt=jkt)


def _refresh_token(tenant, client, form, now, jkt):
    issuance, scope = oidc_tokens.rotate_refresh(tenant, client, _required(form, "refresh_token"),
                                                 scope=form.get("scope"), now=now, jkt=jkt)
    return token_response(tenant, client, issuance, now, scope=scope, jkt=jkt)


def _client_credentials(tenant, client, form, now, jkt):
    if client.public:
        raise UnauthorizedClientError("public clients cannot use client_credentials")
    scope = " ".join(s for s in form.get("scope", "").split() if s not in ("openid", "offline_access"))
    return token_response(tenant, client, oidc_tokens.client_grant(tenant, client, scope, now), now, jkt=jkt)


def _dpop_key(tenant, client, now):
    """The key thumbprint of the request's DPoP proof (RFC 9449 5), or None when it has none.

    A server nonce is always required here (RFC 9449 8): a proof cannot be made ahead of time."""
    proofs = request.headers.getlist("DPoP")
    if not proofs:
        if client.require_dpop:
            raise InvalidDpopProofError("this client must send a DPoP proof")
        return None
    if len(proofs) > 1:
        raise InvalidDpopProofError("send exactly one DPoP header")
    return dpop.check_proof(tenant, proofs[0], method="POST", url=endpoint_url(tenant, "token"), now=now,
                            secret=current_app.config["SECRET_KEY"], nonce_required=True)


GRANTS = {"authorization_code": _authorization_code, "refresh_token": _refresh_token,
          "client_credentials": _client_credentials}


@bp.post("/oidc/token", endpoint="token")
def token():
    tenant, now = g.oidc_tenant, current_time()
    try:
        client = client_auth.authenticate(tenant, now, endpoint_url(tenant, "token"))
        handler = GRANTS.get(request.form.get("grant_type"))
        if handler is None:
            raise (InvalidRequestError("grant_type is required") if not request.form.get("grant_type")
                   else UnsupportedGrantTypeError(request.form["grant_type"][:50]))
        body = handler(tenant, client, request.form, now, _dpop_key(tenant, client, now))
    except OAuth2Error as exc:
        db.session.commit()
        metrics.count_token_grant(request.form.get("grant_type"), exc.error)
        return _with_nonce(oauth_error(exc), tenant, now)
    db.session.commit()
    metrics.count_token_grant(request.form.get("grant_type"))
    response = jsonify(body)
    response.headers.update(NO_STORE)
    return _with_nonce(response, tenant, now)


def _with_nonce(response, tenant, now):
    """Every answer to a request with a DPoP proof carries the current nonce (RFC 9449 8)."""
    if "DPoP" in request.headers and "DPoP-Nonce" not in response.headers:
        response.headers["DPoP-Nonce"] = dpop.new_nonce(tenant, current_app.config["SECRET_KEY"], now)
    return response
