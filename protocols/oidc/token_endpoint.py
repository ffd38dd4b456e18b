"""Token endpoint (RFC 6749 3.2): authorization_code (+ PKCE), refresh_token, client_credentials.

Errors are Authlib's OAuth error types, answered as RFC 6749 5.2 JSON. The transaction is
committed even on errors: a replayed code or refresh token has just revoked its family.
"""
from authlib.oauth2.rfc6749.errors import (InvalidRequestError, OAuth2Error, UnauthorizedClientError,
                                           UnsupportedGrantTypeError)
from flask import g, jsonify, request

from idp.oidc import tokens as oidc_tokens
from idp.oidc.token_response import token_response
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


def _authorization_code(tenant, client, form, now):
    code = _required(form, "code")
    issuance, nonce = oidc_tokens.redeem_code(tenant, client, code, redirect_uri=_required(form, "redirect_uri"),
                                              code_verifier=form.get("code_verifier"), now=now)
    return token_response(tenant, client, issuance, now, nonce=nonce)


def _refresh_token(tenant, client, form, now):
    issuance, scope = oidc_tokens.rotate_refresh(tenant, client, _required(form, "refresh_token"),
                                                 scope=form.get("scope"), now=now)
    return token_response(tenant, client, issuance, now, scope=scope)


def _client_credentials(tenant, client, form, now):
    if client.public:
        raise UnauthorizedClientError("public clients cannot use client_credentials")
    scope = " ".join(s for s in form.get("scope", "").split() if s not in ("openid", "offline_access"))
    return token_response(tenant, client, oidc_tokens.client_grant(tenant, client, scope, now), now)


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
        body = handler(tenant, client, request.form, now)
    except OAuth2Error as exc:
        db.session.commit()
        return oauth_error(exc)
    db.session.commit()
    response = jsonify(body)
    response.headers.update(NO_STORE)
    return response
