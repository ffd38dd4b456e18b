"""DPoP proofs (RFC 9449): checking a proof, its key's thumbprint, server nonces, used `jti`s.

A client proves possession of a key by sending, with each request, a JWT it signed with that key
(the `DPoP` header). `check_proof` applies RFC 9449 4.3: typ `dpop+jwt`, an asymmetric alg of the
allow-list, a public `jwk` in the header that verifies the signature, `htm`/`htu` of this request
(the URI without query and fragment, compared after RFC 3986 6.2.2/6.2.3 normalisation), `iat`
within ±60 s, `ath` = the hash of the access token at a resource, the server nonce where required,
and a `jti` used once per tenant (a database row, so replays are refused by every instance).
It returns the key's RFC 7638 thumbprint (`jkt`), which tokens are then bound to.

Nonces (RFC 9449 8, 9) are stateless: a time bucket and an HMAC of it with the app secret, per
tenant; one is good for 5 to 10 minutes, in every instance that shares the secret.
"""
import base64
import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749.errors import OAuth2Error
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from idp.models.oidc import OidcUsedDpopProof
from idp.oidc.jwt import epoch
from idp.platform.extensions import db
from idp.platform.random_tokens import digest

# Asymmetric algorithms only (RFC 9449 4.3 item 5: never `none` nor a MAC).
ALGORITHMS = ("ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA", "Ed25519")
IAT_WINDOW = 60  # seconds either side of our clock
NONCE_PERIOD = 300  # seconds; a nonce is accepted in its own period and the next one
MAX_PROOF_LENGTH = 8000
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
# joserfc's default registry limits a protected header to 512 bytes: too short for an RSA `jwk`.
_REGISTRY = jws.JWSRegistry(algorithms=list(ALGORITHMS), strict_check_header=False)
_REGISTRY.max_header_length = 4096
_KEY_TYPES = {"EC", "RSA", "OKP"}


class InvalidDpopProofError(OAuth2Error):
    """RFC 9449 5, 7.1: the proof is missing where required, malformed or does not match."""

    error = "invalid_dpop_proof"
    status_code = 400


class UseDpopNonceError(OAuth2Error):
    """RFC 9449 8: retry with the nonce of the DPoP-Nonce header (which the protocol layer adds)."""

    error = "use_dpop_nonce"
    status_code = 400

    def __init__(self, nonce, description="a DPoP nonce from the DPoP-Nonce header is required"):
        super().__init__(description)
        self.nonce = nonce

    def get_headers(self):
        return [*super().get_headers(), ("DPoP-Nonce", self.nonce)]


def access_token_hash(access_token):
    """`ath` (RFC 9449 4.2): base64url SHA-256 of the access token's ASCII."""
    return _b64(hashlib.sha256(access_token.encode("ascii", "replace")).digest())


def _b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def new_nonce(tenant, secret, now):
    """The tenant's current server nonce (the same in every instance for NONCE_PERIOD)."""
    return _nonce_for(tenant.id, secret, epoch(now) // NONCE_PERIOD)


def _nonce_for(tenant_id, secret, period):
    mac = hmac.new(secret.encode("utf-8"), f"dpop-nonce:{tenant_id}:{period}".encode(), hashlib.sha256).digest()
    return f"{period:x}.{_b64(mac[:18])}"


def nonce_is_current(tenant, secret, nonce, now):
    if not isinstance(nonce, str) or len(nonce) > 64 or "." not in nonce:
        return False
    current = epoch(now) // NONCE_PERIOD
    return any(hmac.compare_digest(nonce, _nonce_for(tenant.id, secret, period)) for period in (current, current - 1))


def _normalized_url(url):
    """RFC 3986 6.2.2 and 6.2.3 without query and fragment: scheme and host in lower case, default port
    dropped, empty path as "/", percent-encodings of unreserved characters decoded, others upper case."""
    if not isinstance(url, str) or len(url) > 2000:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    default = {"http": 80, "https": 443}[scheme]
    netloc = parts.hostname.lower() + (f":{port}" if port not in (None, default) else "")
    path = re.sub(r"%[0-9A-Fa-f]{2}", _normalized_escape, parts.path or "/")
    return f"{scheme}://{netloc}{path}"


def _normalized_escape(match):
    char = chr(int(match.group(0)[1:], 16))
    if char.isascii() and (char.isalnum() or char in "-._~"):
        return char
    return match.group(0).upper()


def _decode(proof):
    """(header, claims, key) of a proof whose signature verifies with its own header `jwk`."""
    if not isinstance(proof, str) or not proof or len(proof) > MAX_PROOF_LENGTH:
        raise InvalidDpopProofError("the DPoP proof is not a JWT")
    try:
        header = jws.extract_compact(proof.encode("ascii"), registry=_REGISTRY).headers()
    except (JoseError, ValueError, TypeError, UnicodeEncodeError):
        raise InvalidDpopProofError("the DPoP proof is not a JWT") from None
    if not isinstance(header, dict) or header.get("typ") != "dpop+jwt":
        raise InvalidDpopProofError("typ must be dpop+jwt")
    if header.get("alg") not in ALGORITHMS:
        raise InvalidDpopProofError("alg is not an accepted asymmetric algorithm")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or jwk.get("kty") not in _KEY_TYPES or _PRIVATE_MEMBERS & set(jwk):
        raise InvalidDpopProofError("jwk must be a public key")
    try:
        key = JWKRegistry.import_key(jwk)
        claims = json.loads(jws.deserialize_compact(proof, key, algorithms=[header["alg"]], registry=_REGISTRY).payload)
    except (JoseError, ValueError, TypeError, KeyError, AttributeError):  # joserfc's refusals of odd keys vary
        raise InvalidDpopProofError("the DPoP proof signature does not verify") from None
    if jwk["kty"] == "RSA" and getattr(key.raw_value, "key_size", 0) < 2048:
        raise InvalidDpopProofError("RSA keys of DPoP proofs must have at least 2048 bits")
    if not isinstance(claims, dict):
        raise InvalidDpopProofError("the DPoP proof has no claims")
    return header, claims, key


def _claims_problem(claims, method, url, now, access_token):
    jti, iat = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        return "jti is required"
    if claims.get("htm") != method:
        return "htm does not match the request method"
    expected = _normalized_url(url)
    if expected is None or _normalized_url(claims.get("htu")) != expected:
        return "htu does not match the request URI"
    if not isinstance(iat, (int, float)) or isinstance(iat, bool) or abs(iat - epoch(now)) > IAT_WINDOW:
        return "iat is outside the accepted window"
    if access_token is not None and not hmac.compare_digest(str(claims.get("ath", "")),
                                                            access_token_hash(access_token)):
        return "ath does not match the access token"
    return None


def check_proof(tenant, proof, *, method, url, now, secret, nonce_required=False, access_token=None):
    """Check a DPoP proof for a request (RFC 9449 4.3) and spend its jti; returns the key's thumbprint.

    Raises InvalidDpopProofError, or UseDpopNonceError (with a fresh nonce) when a nonce is required
    and missing or no longer current. A nonce sent where none is required must still be current."""
    _header, claims, key = _decode(proof)
    problem = _claims_problem(claims, method, url, now, access_token)
    if problem:
        raise InvalidDpopProofError(problem)
    nonce = claims.get("nonce")
    if (nonce_required or nonce is not None) and not nonce_is_current(tenant, secret, nonce, now):
        raise UseDpopNonceError(new_nonce(tenant, secret, now))
    expires_at = _from_epoch(claims["iat"]) + timedelta(seconds=IAT_WINDOW + 1)
    if not _remember_jti(tenant, claims["jti"], expires_at, now):
        raise InvalidDpopProofError("the DPoP proof was already used (jti)")
    return key.thumbprint()


def _from_epoch(seconds):
    return datetime.fromtimestamp(int(seconds), timezone.utc).replace(tzinfo=None)


def _remember_jti(tenant, jti, expires_at, now):
    """False when the tenant already accepted a proof with this jti (RFC 9449 11.1); expired rows of the
    tenant are purged on the way (a proof past its window is refused by its iat anyway)."""
    db.session.execute(delete(OidcUsedDpopProof).where(OidcUsedDpopProof.tenant_id == tenant.id,
                                                       OidcUsedDpopProof.expires_at < now))
    try:
        with db.session.begin_nested():
            db.session.add(OidcUsedDpopProof(tenant_id=tenant.id, jti_hash=digest(jti), expires_at=expires_at))
    except IntegrityError:
        return False
    return True
