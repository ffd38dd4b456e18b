"""The admin REST API of each tenant: /t/<tenant>/api/v1 (docs/api.md).

A script gets an access token from the tenant's own token endpoint (/t/<tenant>/oidc/token,
client_credentials, scope admin:read or admin:write) for an OIDC app marked as an API client, and calls
the API with it (auth.py). Views (accounts.py, groups.py, reading.py) parse with pydantic models
(schemas.py, validated by spectree), call one console use-case (idp.console.*, the console's rules) with
the API client as the audited actor, and answer JSON; every error is RFC 9457 problem+json (problems.py).
The OpenAPI 3.1 document at /openapi.json is generated from the views (openapi.py)."""
import re

from flask import request

API_PATH = re.compile(r"^/t/[^/]+/api/v1(/|$)")


def _routing_error():
    """404/405 for a URL under the API that matches no route: problem+json, as every other error there."""
    from protocols.api.problems import routing_error
    exc = request.routing_exception
    if exc is not None and getattr(exc, "code", 0) >= 400 and API_PATH.match(request.path):
        return routing_error(exc)


def init_app(app):
    from idp.platform.extensions import csrf
    from idp.web.sso import mark_stateless
    from protocols.api import accounts, groups, openapi, reading  # noqa: F401  (register routes)
    from protocols.api.blueprint import bp
    csrf.exempt(bp)  # called by scripts with a bearer token, never by our forms (as the OIDC token endpoint)
    app.register_blueprint(bp)
    mark_stateless(app, *(rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")))
    app.before_request(_routing_error)
