"""UserInfo (OIDC Core 5.3), revocation (RFC 7009) and introspection (RFC 7662)."""
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from flask import g, jsonify, request

from idp.oidc import tokens as oidc_tokens
from idp.oidc.claims import identity_of_grant, user_claims
from idp.oidc.jwt import epoch
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.platform.urls import issuer_for
from protocols.oidc import client_auth
from protocols.oidc.blueprint import bp, endpoint_url
from protocols.oidc.token_endpoint import NO_STORE, oauth_error


def _bearer_error(status, error=None, description=None):
    """RFC 6750 3: 401 with WWW-Authenticate (no error code when no token was sent)."""
    challenge = "Bearer"
    if error:
        challenge += f' error="{error}"' + (f', error_description="{description}"' if description else "")
    response = jsonify({"error": error} if error else {})
    response.status_code = status
    response.headers["WWW-Authenticate"] = challenge
    response.headers.update(NO_STORE)
    return response


def _bearer_token():
    """The access token from the Authorization header or (POST) the form body; one place only."""
    header = request.headers.get("Authorization", "")
    in_header = header[:7].lower() == "bearer "
    in_body = request.method == "POST" and "access_token" in request.form
    if in_header and in_body:
        return None, "invalid_request"
    if in_header:
        return header[7:].strip(), None
    if in_body:
        return request.form["access_token"], None
    return None, None


@bp.route("/oidc/userinfo", methods=["GET", "POST"], endpoint="userinfo")
def userinfo():
    raw, problem = _bearer_token()
    if problem:
        return _bearer_error(400, problem)
    if raw is None:
        return _bearer_error(401)
    token = oidc_tokens.live_access_token(g.oidc_tenant, raw, current_time())
    if token is None:
        return _bearer_error(401, "invalid_token", "the access token is invalid or expired")
    grant = token.grant
    if grant.account is None or "openid" not in token.scope.split():
        return _bearer_error(403, "insufficient_scope")
    response = jsonify(user_claims(identity_of_grant(grant), token.scope, grant.claims, "userinfo"))
    response.headers.update(NO_STORE)
    return response


@bp.post("/oidc/revoke", endpoint="revoke")
def revoke():
    tenant, now = g.oidc_tenant, current_time()
    try:
        client = client_auth.authenticate(tenant, now, endpoint_url(tenant, "revoke"))
        if not request.form.get("token"):
            raise InvalidRequestError("token is required")
        oidc_tokens.revoke_token(tenant, client, request.form["token"], now)
    except OAuth2Error as exc:
        db.session.rollback()
        return oauth_error(exc)
    db.session.commit()
    response = jsonify({})  # RFC 7009 2.2: 200 whether or not the token was known
    response.headers.update(NO_STORE)
    return response


@bp.post("/oidc/introspect", endpoint="introspect")
def introspect():
    """RFC 7662 for confidential clients, about their own tokens only: a token issued to another
    client (or unknown, expired, revoked, rotated) is `{"active": false}` (2.2, 4)."""
    tenant, now = g.oidc_tenant, current_time()
    try:
        client = client_auth.authenticate(tenant, now, endpoint_url(tenant, "introspect"), allow_public=False)
        if not request.form.get("token"):
            raise InvalidRequestError("token is required")
        token = oidc_tokens.introspect(tenant, client, request.form["token"], now)
    except OAuth2Error as exc:
        db.session.rollback()
        return oauth_error(exc)
    db.session.commit()  # keeps the client assertion's jti (private_key_jwt)
    body = {"active": False}
    if token is not None:
        account = token.grant.account
        body = {"active": True, "scope": token.scope, "client_id": client.client_id, "token_type":
                "Bearer" if token.kind == "access" else "refresh_token", "exp": epoch(token.expires_at),
                "iat": epoch(token.created_at), "iss": issuer_for(tenant.slug), "aud": client.client_id,
                "sub": account.subject if account else client.client_id}
        if account is not None:
            body["username"] = account.email
    response = jsonify(body)
    response.headers.update(NO_STORE)
    return response
