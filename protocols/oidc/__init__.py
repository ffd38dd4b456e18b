"""OpenID Connect provider per tenant (Authlib)."""


def init_app(app):
    """Register the OIDC endpoints under /t/<tenant>/ (filled in by the OIDC issue)."""
