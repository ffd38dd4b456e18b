"""Who calls the admin API: an OAuth 2.0 access token of this tenant's issuer (RFC 6750 2.1, the
`Authorization: Bearer` header only), issued by the client_credentials grant to an app marked as an API
client, with `admin:read` (reading) or `admin:write` (reading and writing).

The token is checked exactly as /oidc/userinfo checks one (`idp.oidc.tokens.live_access_token`: this
tenant's, not expired, not revoked, JWT or opaque alike, both are stored as digests); then its grant
must have no user and its client must still be an API client. A missing or unusable token is a 401 with
`WWW-Authenticate: Bearer` (RFC 6750 3.1; no error code when none was sent), a token without the scope a
403 `insufficient_scope`. DPoP-bound tokens are not accepted here (the API takes bearer tokens).

Every authorised request counts against its client's rate limit (IDP_RATELIMIT_API_CLIENT, the app's
setting or else the environment's, default 600/minute;20000/hour; a moving window on the app's
rate-limit storage, idp.platform.ratelimit); over it: 429 with Retry-After.
"""
import os
from dataclasses import dataclass

from flask import current_app, request

from idp.logs.audit import Actor
from idp.oidc import tokens as oidc_tokens
from idp.oidc.clients import ADMIN_READ, ADMIN_SCOPES, ADMIN_WRITE
from idp.platform import ratelimit
from idp.web.sso import client_info
from protocols.api.problems import ApiProblem

ACTOR_TYPE = "api_client"
LIMIT_SETTING = "IDP_RATELIMIT_API_CLIENT"
DEFAULT_LIMIT = "600/minute;20000/hour"
LIMITS = "idp_api_ratelimit"
READ_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Caller:
    """The API client behind a request: its audit actor and where the request came from."""

    client_id: str
    actor: Actor
    client: object  # idp.logs.audit.ClientInfo


def _challenge(status, error=None, description=None, scope=None):
    value = "Bearer"
    params = [f'{key}="{text}"' for key, text in (("error", error), ("error_description", description),
                                                  ("scope", scope)) if text]
    if params:
        value += " " + ", ".join(params)
    return ApiProblem(status, description or "An access token is required.", kind=error or "unauthorized",
                      headers={"WWW-Authenticate": value})


def _bearer():
    """The bearer token of the Authorization header; None when there is none (another scheme counts as none)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def required_scope(method):
    return ADMIN_READ if method in READ_METHODS else ADMIN_WRITE


def authorise(tenant, now):
    """The Caller of this request, or ApiProblem 401/403/429."""
    raw = _bearer()
    if raw is None:
        raise _challenge(401)
    token = oidc_tokens.live_access_token(tenant, raw, now)
    if token is None or token.dpop_jkt is not None or token.grant.account_id is not None:
        raise _challenge(401, "invalid_token", "The access token is invalid or expired.")
    client = token.grant.client
    needed = required_scope(request.method)
    granted = set(token.scope.split())
    if not client.api_client or not granted & set(ADMIN_SCOPES):
        raise _challenge(403, "insufficient_scope", "The client is not an API client of the admin API.",
                         " ".join(ADMIN_SCOPES))
    if needed == ADMIN_WRITE and ADMIN_WRITE not in granted:
        raise _challenge(403, "insufficient_scope", "This request needs the scope admin:write.", ADMIN_WRITE)
    _count(client.client_id)
    return Caller(client.client_id, Actor(ACTOR_TYPE, None, client.app.name), client_info())


def _limits():
    items = current_app.extensions.get(LIMITS)
    if items is None:
        items = current_app.extensions[LIMITS] = ratelimit.parse_limits(
            LIMIT_SETTING, current_app.config.get(LIMIT_SETTING) or os.environ.get(LIMIT_SETTING) or DEFAULT_LIMIT)
    return items


def _count(client_id):
    """One hit for the client, or RateLimited (nothing counted); in memory while the storage is down."""
    ratelimit.limiter().hit_own("api", "client", client_id, _limits())
