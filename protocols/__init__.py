"""Protocol glue: OpenID Connect, SAML 2.0, SCIM 2.0 and the admin REST API. Calls `idp` services only."""


def init_app(app):
    from protocols.api import init_app as init_api
    from protocols.oidc import init_app as init_oidc
    from protocols.saml import init_app as init_saml
    from protocols.scim import init_app as init_scim
    init_oidc(app)
    init_saml(app)
    init_scim(app)
    init_api(app)
