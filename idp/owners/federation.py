"""Contract login delegated to an upstream OpenID Connect provider (optional).

Configured by IDP_OWNER_OIDC_ISSUER / _CLIENT_ID / _CLIENT_SECRET; the redirect URI to
register upstream is {IDP_BASE_URL}/contract/login/federated/callback.

  begin(settings)            -> the upstream authorization URL (code flow, PKCE S256, state,
                                nonce) and the values the view keeps in the signed form session
  complete(settings, pending, code, state)
                             -> state compared in constant time; the code exchanged with the
                                PKCE verifier and the client secret (Authlib); the ID token
                                verified against the upstream JWKS (joserfc: signature, iss,
                                aud, exp, nonce); the owner matched by the *verified* email.
Every failure gives the user one generic message; the detail goes to the log.
"""
import calendar
import logging
from dataclasses import dataclass

from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from flask_babel import lazy_gettext as _l
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from idp.logs.audit import record_login
from idp.owners import accounts as owners
from idp.platform.config import parse_flag
from idp.platform.errors import ServiceError
from idp.platform.random_tokens import new_token, same
from idp.platform.urls import external_url

CALLBACK_PATH = "/contract/login/federated/callback"
HTTP_TIMEOUT = 5
ALGORITHMS = ["RS256", "ES256", "PS256"]
log = logging.getLogger(__name__)


class FederationFailed(ServiceError):
    status_code = 401

    def __init__(self, detail):
        super().__init__(_l("外部IDでのログインに失敗しました。もう一度お試しください。"), detail)


@dataclass(frozen=True)
class UpstreamSettings:
    issuer: str
    client_id: str
    client_secret: str

    @classmethod
    def from_config(cls, config):
        """The settings, or None when federation is not configured."""
        issuer = (config.get("IDP_OWNER_OIDC_ISSUER") or "").rstrip("/")
        if not issuer or not config.get("IDP_OWNER_OIDC_CLIENT_ID"):
            return None
        return cls(issuer, config["IDP_OWNER_OIDC_CLIENT_ID"], config.get("IDP_OWNER_OIDC_CLIENT_SECRET") or "")

    def oauth_session(self):
        # requests and its Authlib client are loaded here, by the few processes that federate owners
        from authlib.integrations.requests_client import OAuth2Session
        return OAuth2Session(self.client_id, self.client_secret, scope="openid email",
                             redirect_uri=external_url(CALLBACK_PATH), code_challenge_method="S256",
                             token_endpoint_auth_method="client_secret_basic")


def local_login_enabled(config):
    """Local owner passwords are used unless the login is delegated upstream (IDP_OWNER_LOCAL_LOGIN=auto);
    `1` keeps them next to the federation (e.g. during a migration), `0` turns them off."""
    setting = str(config.get("IDP_OWNER_LOCAL_LOGIN") or "auto").strip().lower()
    if setting == "auto":
        return UpstreamSettings.from_config(config) is None
    return parse_flag("IDP_OWNER_LOCAL_LOGIN", setting)


def begin(settings):
    """Return (authorization_url, pending) where `pending` must come back to `complete`."""
    metadata = _metadata(settings)
    pending = {"state": new_token(), "nonce": new_token(), "code_verifier": generate_token(64)}
    url, _state = settings.oauth_session().create_authorization_url(
        metadata["authorization_endpoint"], state=pending["state"], nonce=pending["nonce"],
        code_verifier=pending["code_verifier"])
    return url, pending


def complete(settings, pending, *, code, state, error, now, client):
    """The live owners the upstream vouches for (one, signed in; several when the address holds the contracts
    of several companies: the owner picks), or FederationFailed (the failure is kept as a login event)."""
    try:
        if error or not pending or not code or not state or not same(state, pending.get("state", "")):
            raise FederationFailed(f"bad callback (error={error!r}, state matches: "
                                   f"{bool(pending and state and same(state, pending.get('state', '')))})")
        claims = _verified_claims(settings, pending, code, now)
        if claims.get("email_verified") is not True or not claims.get("email"):
            raise FederationFailed("upstream email missing or not verified")
        live = [owner for owner in owners.with_email(claims["email"]) if owner.tenant.is_active]
        if not live:
            raise FederationFailed(f"no live owner for upstream subject {claims.get('sub')!r}")
    except FederationFailed as exc:
        log.info("owner federation failed: %s", exc.detail)
        record_login(result="failure", reason="federation_failed", target=owners.LOGIN_TARGET, protocol="oidc",
                     now=now, client=client)
        raise
    if len(live) > 1:
        return live  # the contracts of several companies: the owner picks one (`owners.choose`)
    owners.success(live[0], now, client, protocol="oidc")
    return live


def _verified_claims(settings, pending, code, now):
    import requests
    metadata = _metadata(settings)
    try:
        token = settings.oauth_session().fetch_token(
            metadata["token_endpoint"], grant_type="authorization_code", code=code,
            code_verifier=pending["code_verifier"], timeout=HTTP_TIMEOUT)
        keys = KeySet.import_key_set(_get_json(metadata["jwks_uri"]))
        decoded = jwt.decode(token.get("id_token") or "", keys, algorithms=ALGORITHMS)
        JWTClaimsRegistry(
            now=calendar.timegm(now.utctimetuple()), leeway=60,
            iss={"essential": True, "value": settings.issuer}, aud={"essential": True, "value": settings.client_id},
            exp={"essential": True}, sub={"essential": True}, nonce={"essential": True, "value": pending["nonce"]},
        ).validate(decoded.claims)
    except (AuthlibBaseError, JoseError, ValueError, KeyError, TypeError, requests.RequestException) as exc:
        raise FederationFailed(f"token exchange or ID token check failed: {type(exc).__name__}: {exc}") from None
    return decoded.claims


def _metadata(settings):
    import requests
    try:
        metadata = _get_json(settings.issuer + "/.well-known/openid-configuration")
    except (requests.RequestException, ValueError) as exc:
        raise FederationFailed(f"discovery failed: {exc}") from None
    if metadata.get("issuer") != settings.issuer:
        raise FederationFailed(f"discovery names another issuer: {metadata.get('issuer')!r}")
    return metadata


def _get_json(url):
    import requests
    response = requests.get(url, timeout=HTTP_TIMEOUT)
    response.raise_for_status()
    return response.json()
