"""SAML 2.0 identity provider per tenant (pysaml2)."""


def init_app(app):
    """Register the SAML endpoints under /t/<tenant>/saml/ (filled in by the SAML issue)."""
