"""Token strings: ID tokens (OIDC Core 2, 3.1.3.6 at_hash), access tokens (RFC 9068 JWT or opaque)
and the token response. Storage and validity rules are in idp.oidc.tokens."""
from authlib.oidc.core.util import create_half_hash

from idp.models.oidc import TOKEN_ACCESS, TOKEN_REFRESH
from idp.oidc import tokens as oidc_tokens
from idp.oidc.claims import identity_of_grant, user_claims
from idp.oidc.jwt import epoch, sign
from idp.platform.random_tokens import new_token
from idp.platform.urls import issuer_for


def access_token(tenant, client, grant, scope, now, jkt=None):
    """An opaque token, or an RFC 9068 JWT; a DPoP-bound one names its key (`cnf.jkt`, RFC 9449 6.1)."""
    if client.access_token_format == "opaque":
        return new_token(32)
    lifetime = client.app.access_token_lifetime  # per app (admin console)
    claims = {"iss": issuer_for(tenant.slug), "aud": client.client_id, "client_id": client.client_id,
              "sub": grant.account.subject if grant.account else client.client_id,
              "iat": epoch(now), "exp": epoch(now + lifetime), "jti": new_token(16), "scope": scope}
    if grant.auth_time:
        claims["auth_time"] = epoch(grant.auth_time)
    if jkt:
        claims["cnf"] = {"jkt": jkt}
    return sign(tenant, "RS256", claims, now, typ="at+jwt")


def id_token(tenant, client, grant, now, *, access, nonce=""):
    identity = identity_of_grant(grant)
    claims = user_claims(identity, grant.scope, grant.claims, "id_token")
    claims.update({
        "iss": issuer_for(tenant.slug), "aud": client.client_id, "azp": client.client_id,
        "iat": epoch(now), "exp": epoch(now + client.app.id_token_lifetime), "auth_time": epoch(identity.auth_time),
        "amr": list(identity.amr), "acr": identity.acr,
        "at_hash": create_half_hash(access, client.id_token_alg).decode("ascii"),
    })
    if identity.session_id:
        claims["sid"] = identity.session_id
    if nonce:
        claims["nonce"] = nonce
    return sign(tenant, client.id_token_alg, claims, now)


def token_response(tenant, client, issuance, now, *, scope=None, nonce="", jkt=None):
    """Access token (+ refresh token when offline_access was granted, + ID token for a user), made
    first and then written with `oidc_tokens.store_tokens` (which spends the code or refresh token).

    With `jkt` (the thumbprint of a checked DPoP proof) the access token is bound to that key and its
    type is DPoP (RFC 9449 5); so is a public client's refresh token (a confidential client's is
    already bound to its client authentication, RFC 9449 5)."""
    grant = issuance.grant
    scope = scope or grant.scope
    access = access_token(tenant, client, grant, scope, now, jkt)
    lifetime = client.app.access_token_lifetime
    stored = [(TOKEN_ACCESS, access, lifetime, scope, jkt)]
    body = {"access_token": access, "token_type": "DPoP" if jkt else "Bearer",
            "expires_in": int(lifetime.total_seconds()), "scope": scope}
    if oidc_tokens.wants_refresh(client, grant):
        body["refresh_token"], refresh_lifetime = oidc_tokens.new_refresh_token(client)
        stored.append((TOKEN_REFRESH, body["refresh_token"], refresh_lifetime, issuance.refresh_scope or scope,
                       jkt if client.public else None))
    if grant.account_id is not None and "openid" in grant.scope.split():
        body["id_token"] = id_token(tenant, client, grant, now, access=access, nonce=nonce)
    oidc_tokens.store_tokens(issuance, now, stored)
    return body
