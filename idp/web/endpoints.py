"""The endpoints the core and the protocols send a browser to, named in one place.

admin_ui registers them; only this module spells their names, and a test checks that the app
defines each one.
"""
from flask import url_for

LOGIN = "auth.login"
TENANT_LOGIN = "auth.tenant_login"
ENDPOINTS = (LOGIN, TENANT_LOGIN)


def login_url(tenant_slug=None, **params):
    """The login page, with `next`, `login_hint`, `reauth` … as query parameters; with `tenant_slug`, the
    tenant's own login page (`/t/{tenant}/login`), which signs in that tenant's account only."""
    if tenant_slug is not None:
        return url_for(TENANT_LOGIN, tenant_slug=tenant_slug, **params)
    return url_for(LOGIN, **params)
