"""The `oidc` blueprint under the tenant issuer /t/<tenant>/, discovery and JWKS.

Every endpoint URL is built from IDP_BASE_URL (never the Host header); the tenant comes from
the path and an unknown or terminated tenant is a 404, so a client of tenant A is unknown at B.
"""
from flask import Blueprint, g, jsonify, request

from idp import keys
from idp.oidc.claims import CLAIMS_SUPPORTED, SCOPES_SUPPORTED
from idp.oidc.dpop import ALGORITHMS as DPOP_ALGORITHMS
from idp.oidc.jwt import ALGORITHMS
from idp.platform.clock import current_time
from idp.platform.urls import issuer_for
from idp.web.sso import mark_stateless
from idp.web.tenant_urls import tenant_from_url

bp = Blueprint("oidc", __name__, url_prefix="/t/<tenant_slug>", template_folder="templates")
ENDPOINTS = {"authorization_endpoint": "authorize", "token_endpoint": "token", "userinfo_endpoint": "userinfo",
             "jwks_uri": "jwks", "revocation_endpoint": "revoke", "introspection_endpoint": "introspect",
             "end_session_endpoint": "logout", "pushed_authorization_request_endpoint": "par"}
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
CORS_ENDPOINTS = {"oidc.discovery", "oidc.jwks", "oidc.token", "oidc.userinfo", "oidc.revoke"}
# Called by apps, never with our SSO cookie in mind: no SSO-session lookup for them.
STATELESS_ENDPOINTS = CORS_ENDPOINTS | {"oidc.introspect", "oidc.par"}


@bp.url_value_preprocessor
def _load_tenant(_endpoint, values):
    g.oidc_tenant = tenant_from_url(values)


@bp.after_request
def _cors(response):
    """Browser apps (public clients) call these endpoints cross-origin; they need no cookies."""
    if request.endpoint in CORS_ENDPOINTS:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, DPoP"
        response.headers["Access-Control-Expose-Headers"] = "DPoP-Nonce, WWW-Authenticate"
    return response


@bp.record_once
def _stateless(state):
    mark_stateless(state.app, *STATELESS_ENDPOINTS)


def endpoint_url(tenant, name):
    return f"{issuer_for(tenant.slug)}/oidc/{name}"


def discovery_document(tenant):
    """OpenID Connect Discovery 1.0 3 (issuer exactly the issuer string, no trailing slash)."""
    doc = {"issuer": issuer_for(tenant.slug)}
    doc.update({field: endpoint_url(tenant, name) for field, name in ENDPOINTS.items()})
    doc.update({
        "scopes_supported": list(SCOPES_SUPPORTED),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ALGORITHMS),
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS[:3],
        "require_pushed_authorization_requests": False,  # RFC 9126 5: per client (oidc_clients)
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": list(CLAIMS_SUPPORTED),
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "acr_values_supported": ["urn:matome:acr:pwd", "urn:matome:acr:mfa"],
        "display_values_supported": ["page"],
        "claim_types_supported": ["normal"],
        "ui_locales_supported": ["ja", "en"],
        "claims_locales_supported": ["ja"],
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "prompt_values_supported": ["none", "login", "consent"],
        "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),  # RFC 9449 5.1
    })
    return doc


def _cached(response, seconds):
    response.headers["Cache-Control"] = f"public, max-age={seconds}"
    return response


@bp.get("/.well-known/openid-configuration", endpoint="discovery")
def discovery():
    return _cached(jsonify(discovery_document(g.oidc_tenant)), 3600)


@bp.get("/oidc/jwks", endpoint="jwks")
def jwks():
    """Pending keys are published before they sign (keys/ rotation), retired ones until their tokens expire."""
    return _cached(jsonify(keys.jwks(g.oidc_tenant.id, current_time())), 300)
