"""UserInfo (OIDC Core 5.3; DPoP-bound tokens per RFC 9449 7), revocation (RFC 7009) and introspection
(RFC 7662, with `cnf.jkt` for DPoP-bound tokens, RFC 9449 6.2)."""
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from flask import current_app, g, jsonify, request

from idp.oidc import dpop
from idp.oidc import tokens as oidc_tokens
from idp.oidc.claims import identity_of_grant, user_claims
from idp.oidc.jwt import epoch
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.platform.urls import issuer_for
from protocols.oidc import client_auth
from protocols.oidc.blueprint import bp, endpoint_url
from protocols.oidc.token_endpoint import NO_STORE, oauth_error


def _bearer_error(status, error=None, description=None, scheme="Bearer", nonce=None):
    """RFC 6750 3 / RFC 9449 7.1: 401 with WWW-Authenticate (no error code when no token was sent, and
    then a DPoP challenge too); `scheme` DPoP for DPoP requests and DPoP-bound tokens."""
    challenge = scheme
    if error:
        challenge += f' error="{error}"' + (f', error_description="{description}"' if description else "")
    if scheme == "DPoP":
        challenge += ("," if error else "") + f' algs="{" ".join(dpop.ALGORITHMS)}"'
    response = jsonify({"error": error} if error else {})
    response.status_code = status
    response.headers["WWW-Authenticate"] = challenge
    if not error:
        response.headers.add("WWW-Authenticate", f'DPoP algs="{" ".join(dpop.ALGORITHMS)}"')
    if nonce:
        response.headers["DPoP-Nonce"] = nonce
    response.headers.update(NO_STORE)
    return response


def _presented_token():
    """(scheme, token, problem): the access token from the Authorization header (Bearer or DPoP) or
    (POST, Bearer) the form body; one place only."""
    header = request.headers.get("Authorization", "")
    scheme = "DPoP" if header[:5].lower() == "dpop " else "Bearer" if header[:7].lower() == "bearer " else None
    in_body = request.method == "POST" and "access_token" in request.form
    if scheme and in_body:
        return None, None, "invalid_request"
    if scheme:
        return scheme, header.split(" ", 1)[1].strip(), None
    if in_body:
        return "Bearer", request.form["access_token"], None
    return None, None, None


def _proof_key(tenant, raw, now):
    """The thumbprint of the request's DPoP proof for this access token (RFC 9449 7.1, `ath`)."""
    proofs = request.headers.getlist("DPoP")
    if len(proofs) != 1:
        raise dpop.InvalidDpopProofError("send exactly one DPoP proof")
    return dpop.check_proof(tenant, proofs[0], method=request.method, url=endpoint_url(tenant, "userinfo"), now=now,
                            secret=current_app.config["SECRET_KEY"], access_token=raw)


@bp.route("/oidc/userinfo", methods=["GET", "POST"], endpoint="userinfo")
def userinfo():
    """A DPoP-bound token only with a proof of its key (`Authorization: DPoP`); as Bearer it is refused."""
    scheme, raw, problem = _presented_token()
    if problem:
        return _bearer_error(400, problem)
    if raw is None:
        return _bearer_error(401)
    tenant, now = g.oidc_tenant, current_time()
    try:
        jkt = _proof_key(tenant, raw, now) if scheme == "DPoP" else None
    except OAuth2Error as exc:
        db.session.rollback()
        return _bearer_error(401, exc.error, exc.description, "DPoP", getattr(exc, "nonce", None))
    token = oidc_tokens.live_access_token(tenant, raw, now)
    if token is None or token.dpop_jkt != jkt:
        bound = scheme == "DPoP" or (token is not None and token.dpop_jkt is not None)
        return _bearer_error(401, "invalid_token", "the access token is invalid or expired", "DPoP" if bound
                             else "Bearer")
    if jkt:
        db.session.commit()  # keeps the proof's jti
    grant = token.grant
    if grant.account is None or "openid" not in token.scope.split():
        return _bearer_error(403, "insufficient_scope", scheme=scheme)
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
                _token_type(token), "exp": epoch(token.expires_at),
                "iat": epoch(token.created_at), "iss": issuer_for(tenant.slug), "aud": client.client_id,
                "sub": account.subject if account else client.client_id}
        if account is not None:
            body["username"] = account.email
        if token.dpop_jkt:
            body["cnf"] = {"jkt": token.dpop_jkt}  # RFC 9449 6.2
    response = jsonify(body)
    response.headers.update(NO_STORE)
    return response


def _token_type(token):
    if token.kind != "access":
        return "refresh_token"
    return "DPoP" if token.dpop_jkt else "Bearer"
