"""OpenID Connect provider per tenant; the issuer is {IDP_BASE_URL}/t/{tenant}.

Flow of a login: the app sends the browser to /oidc/authorize (authorize.py) → without a usable SSO
session of this tenant the browser logs in at /t/{tenant}/login (that tenant's account only) and
comes back → the code (idp.oidc.authorization) goes to the app's registered redirect URI → the app
exchanges it at /oidc/token (token_endpoint.py, client_auth.py) for an ID token and an access token
(tokens.py, signed with the tenant's keys from keys/) → it may call /oidc/userinfo, /oidc/revoke,
/oidc/introspect (resource.py). /oidc/logout ends the SSO session (logout.py); ending a session
anywhere sends back-channel logout tokens (backchannel.py). Token rules live in idp.oidc.tokens."""


def init_app(app):
    """Register the OIDC endpoints under /t/<tenant>/ and the signal receivers."""
    from idp.platform.extensions import csrf
    from protocols.oidc import (authorize, backchannel, logout, par, resource,  # noqa: F401  (register routes)
                                token_endpoint)
    from protocols.oidc.blueprint import bp
    csrf.exempt(bp)  # OAuth endpoints are called by apps, not by our forms; logout checks its own form
    app.register_blueprint(bp)
    backchannel.init_app(app)
