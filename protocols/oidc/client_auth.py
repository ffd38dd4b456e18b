"""Client authentication at the token, revocation and introspection endpoints (RFC 6749 2.3).

client_secret_basic, client_secret_post, private_key_jwt (RFC 7523 2.2, keys registered with the
client) and `none` for public clients. Exactly one method per request; every failure is
`invalid_client` with 401 and a WWW-Authenticate header (RFC 6749 5.2).
"""
import base64
import json
from datetime import datetime, timezone
from urllib.parse import unquote

from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError
from flask import request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.oidc import clients as oidc_clients
from idp.oidc.jwt import epoch, unverified_claims
from idp.platform.urls import issuer_for

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGS = ["RS256", "ES256", "PS256"]
CLOCK_SKEW = 30  # seconds
MAX_ASSERTION_LIFETIME = 600  # seconds: a longer-lived assertion is refused (its jti is kept this long)


def _refuse(description="client authentication failed"):
    return InvalidClientError(description, status_code=401)


def _basic_credentials(header):
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        client_id, secret = decoded.split(":", 1)
    except (ValueError, UnicodeDecodeError):
        raise _refuse("malformed Basic credentials") from None
    return unquote(client_id), unquote(secret)  # form-urlencoded first (RFC 6749 2.3.1)


def authenticate(tenant, now, endpoint, allow_public=True):
    """The authenticated OidcClient of this tenant, or InvalidClientError."""
    header = request.headers.get("Authorization", "")
    form = request.form
    used = [name for name, present in (("basic", header[:6].lower() == "basic "),
                                       ("post", "client_secret" in form),
                                       ("jwt", "client_assertion" in form)) if present]
    if len(used) > 1:
        raise InvalidRequestError("use exactly one client authentication method")
    method = used[0] if used else "none"
    if method == "basic":
        client_id, secret = _basic_credentials(header)
        if form.get("client_id") not in (None, client_id):
            raise _refuse()
        return _by_secret(tenant, client_id, secret)
    if method == "post":
        return _by_secret(tenant, form.get("client_id"), form.get("client_secret"))
    if method == "jwt":
        return _by_assertion(tenant, form, now, endpoint)
    client = oidc_clients.find(tenant, form.get("client_id"))
    if client is None or not client.public or not allow_public:
        raise _refuse()
    return client


def _by_secret(tenant, client_id, secret):
    client = oidc_clients.find(tenant, client_id)
    if client is None or not oidc_clients.secret_matches(client, secret):
        raise _refuse()
    return client


def _by_assertion(tenant, form, now, endpoint):
    """private_key_jwt (OIDC Core 9, RFC 7523 3): signed by a key the client registered, iss = sub =
    client_id, aud names us, not expired, not issued in the future, short-lived, jti used only once."""
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise _refuse("unsupported client_assertion_type")
    assertion = form.get("client_assertion", "")
    client = oidc_clients.find(tenant, _unverified_subject(assertion) or form.get("client_id"))
    if client is None or not client.jwks or form.get("client_id") not in (None, client.client_id):
        raise _refuse()
    try:
        key_set = KeySet.import_key_set(json.loads(client.jwks))
        claims = jwt.decode(assertion, key_set, algorithms=ASSERTION_ALGS).claims
    except (JoseError, ValueError, TypeError):
        raise _refuse("invalid client assertion") from None
    problem = _assertion_problem(claims, client, tenant, endpoint, epoch(now))
    if problem:
        raise _refuse(problem)
    if not oidc_clients.remember_assertion(client, claims["jti"], _from_epoch(claims["exp"]), now):
        raise _refuse("client assertion already used (jti)")
    return client


def _assertion_problem(claims, client, tenant, endpoint, now):
    """What is wrong with verified assertion claims, or None."""
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    accepted = {endpoint, f"{issuer_for(tenant.slug)}/oidc/token", issuer_for(tenant.slug)}
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        return "iss and sub must be the client_id"
    if not accepted & {a for a in audiences if isinstance(a, str)}:
        return "aud must name the token endpoint or the issuer"
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
    if not _is_time(exp) or exp <= now - CLOCK_SKEW:
        return "the assertion has expired (exp)"
    if exp > now + MAX_ASSERTION_LIFETIME:
        return "exp is too far in the future"
    if iat is not None and (not _is_time(iat) or iat > now + CLOCK_SKEW):
        return "iat is in the future"
    if nbf is not None and (not _is_time(nbf) or nbf > now + CLOCK_SKEW):
        return "the assertion is not yet valid (nbf)"
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        return "jti is required"
    return None


def _is_time(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _from_epoch(seconds):
    return datetime.fromtimestamp(int(seconds), timezone.utc).replace(tzinfo=None)


def _unverified_subject(assertion):
    """`sub` read before the client (and so its keys) is known; trusted only after verification."""
    return unverified_claims(assertion).get("sub")
