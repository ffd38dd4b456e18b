"""Signing keys: creation, encrypted storage, rotation, JWKS/metadata export.

Protocols call `signing_key(tenant, alg, now)`, `jwks(tenant_id, now)` and
`saml_certificates(tenant_id, now)`; operators rotate with `idp keys rotate`.
"""
from idp.keys.store import LoadedKey, create_tenant_keys, jwks, key_states, load, rotate, saml_certificates, signing_key
from idp.platform import signals

__all__ = ["LoadedKey", "create_tenant_keys", "init_app", "jwks", "key_states", "load", "rotate",
           "saml_certificates", "signing_key"]


def _on_tenant_created(tenant, now, **_):
    create_tenant_keys(tenant, now)


def init_app(app):
    """Every new tenant gets its keys in the transaction that creates it."""
    signals.tenant_created.connect(_on_tenant_created, weak=False)
