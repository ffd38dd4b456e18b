"""The tenant of a URL under /t/<tenant_slug>/ (the OIDC issuer and the SAML endpoints)."""
from flask import abort

from idp.platform import config_cache


def tenant_from_url(values):
    """The active tenant the URL names (its `tenant_slug` taken out of the view's arguments), read with its
    config-cache version in one statement; 404 for an unknown or terminated tenant, alike."""
    slug = values.pop("tenant_slug", None)
    tenant = config_cache.tenant_by_slug(slug) if slug else None
    if tenant is None or not tenant.is_active:
        abort(404)
    return tenant
