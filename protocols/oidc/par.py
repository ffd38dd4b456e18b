"""Pushed authorization request endpoint (RFC 9126 2): POST {issuer}/oidc/par.

The client authenticates as at the token endpoint (client_auth: client_secret_basic/post,
private_key_jwt whose `aud` may name this endpoint, public clients by client_id); the parameters are
checked by the authorization endpoint's own `parse` (a registered redirect_uri, PKCE, scope, …). A
`request_uri` among them is refused (2.1), a request object too (the authorization endpoint takes none).
Answer: 201 `{"request_uri": "urn:ietf:params:oauth:request_uri:…", "expires_in": 60}`, not cached;
errors as RFC 6749 5.2 JSON (400, invalid_client 401), never a redirect. A back-channel call: no CORS.
Rules of the stored request: idp.oidc.par.
"""
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from flask import g, jsonify, request

from idp.oidc import par
from idp.platform.clock import current_time
from idp.platform.extensions import db
from protocols.oidc import client_auth
from protocols.oidc.authorize import FRESH_LOGIN_PARAM, PAR_PARAM, AuthorizationPageError, parse
from protocols.oidc.blueprint import bp, endpoint_url
from protocols.oidc.token_endpoint import NO_STORE, oauth_error

CLIENT_AUTH_FIELDS = {"client_secret", "client_assertion", "client_assertion_type"}


def _pushed_parameters(client):
    """The authorization parameters of the request (without client authentication), as a dict."""
    if any(len(values) > 1 for values in request.form.listvalues()):
        raise InvalidRequestError("a parameter is repeated")  # RFC 6749 3.1
    params = {k: v for k, v in request.form.items()
              if k not in CLIENT_AUTH_FIELDS and k not in (FRESH_LOGIN_PARAM, PAR_PARAM)}
    if "request_uri" in params:
        raise InvalidRequestError("request_uri is not allowed in a pushed authorization request")
    params["client_id"] = client.client_id
    return params


@bp.post("/oidc/par", endpoint="par")
def pushed_authorization_request():
    tenant, now = g.oidc_tenant, current_time()
    try:
        client = client_auth.authenticate(tenant, now, endpoint_url(tenant, "par"))
        params = _pushed_parameters(client)
        try:
            parse(tenant, params, now, pushed=True)
        except AuthorizationPageError as exc:  # here only an unregistered redirect_uri (the client is known)
            raise InvalidRequestError("redirect_uri is not registered for this client") from exc
        request_uri = par.push(client, params, now)
    except OAuth2Error as exc:
        db.session.commit()  # keep a client assertion's jti
        exc.redirect_uri = exc.state = None  # answered to the client, never redirected
        return oauth_error(exc)
    db.session.commit()
    response = jsonify(request_uri=request_uri, expires_in=par.EXPIRES_IN)
    response.status_code = 201
    response.headers.update(NO_STORE)
    return response
