"""Signed JWTs of a tenant (ID tokens, RFC 9068 access tokens, logout tokens) with joserfc.

Keys come from `keys.signing_key` (parsed once per process); verification accepts any key the
tenant still publishes in its JWKS, so tokens signed before a rotation keep verifying.
"""
import calendar
import json

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from idp import keys
from idp.platform.urls import issuer_for

ALGORITHMS = ("RS256", "ES256")


def epoch(dt):
    return calendar.timegm(dt.utctimetuple())


def sign(tenant, alg, claims, now, typ="JWT"):
    key = keys.signing_key(tenant, alg, now)
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": typ}, claims, key.jwk, algorithms=[alg])


def verified_claims(tenant, token, now):
    """The claims of a JWT this tenant signed (signature and issuer checked, expiry not), or None.

    Used for `id_token_hint`, which may carry an expired ID token (OIDC Core 3.1.2.1)."""
    if not token or not isinstance(token, str) or len(token) > 8000:
        return None
    try:
        key_set = KeySet.import_key_set(keys.jwks(tenant.id, now))
        decoded = jwt.decode(token, key_set, algorithms=list(ALGORITHMS))
    except (JoseError, ValueError, TypeError):
        return None
    if decoded.claims.get("iss") != issuer_for(tenant.slug):
        return None
    return decoded.claims


def unverified_claims(token):
    """The payload of a compact JWT (signed or `alg: none`) without any check, or {}: only for values
    that are checked otherwise (a redirect URI against the registered ones, a subject before its key)."""
    if not isinstance(token, str) or len(token) > 8000:
        return {}
    try:
        claims = json.loads(extract_compact(token.encode("ascii")).payload)
    except (JoseError, ValueError, TypeError, UnicodeEncodeError):
        return {}
    return claims if isinstance(claims, dict) else {}
