"""Protocol glue: OpenID Connect (Authlib) and SAML 2.0 (pysaml2). Calls `idp` services only."""


def init_app(app):
    from protocols.oidc import init_app as init_oidc
    from protocols.saml import init_app as init_saml
    init_oidc(app)
    init_saml(app)
