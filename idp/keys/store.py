"""Signing keys per tenant: creation, the current signing key, rotation and what is published.

Timeline of one key: created (published at once) → activates_at (signs) → retired when a newer
key of the same algorithm activates → unpublished IDP_KEY_RETENTION_SECONDS later, once every
token it signed has expired. `rotate` creates the successors with activates_at = now +
IDP_KEY_PREPUBLISH_SECONDS, so clients see them in JWKS/metadata before they sign anything.
Private keys are decrypted and parsed once per process (parsing a PEM costs ~37 ms).
"""
import json
import threading
from dataclasses import dataclass
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from flask import current_app
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import select

from idp.keys.generate import ALGORITHMS, new_private_key, private_pem, public_jwk, self_signed_certificate
from idp.models.keys import SigningKey
from idp.platform import config_cache, encryption
from idp.platform.errors import Conflict
from idp.platform.extensions import db
from idp.platform.urls import issuer_for


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    alg: str
    private_key: object  # cryptography private key (SAML signing)
    jwk: object  # joserfc key with kid/alg set (JWT signing)
    certificate: str  # PEM, RSA keys only


_cache = {}
_cache_lock = threading.Lock()
config_cache.watch(SigningKey)


def _settings():
    config = current_app.config
    return (timedelta(seconds=int(config["IDP_KEY_PREPUBLISH_SECONDS"])),
            timedelta(seconds=int(config["IDP_KEY_RETENTION_SECONDS"])))


def _new_key(tenant, alg, now, activates_at):
    private_key = new_private_key(alg)
    jwk = public_jwk(private_key, alg)
    certificate = self_signed_certificate(private_key, issuer_for(tenant.slug), now) if alg == "RS256" else ""
    row = SigningKey(tenant_id=tenant.id, kid=jwk["kid"], alg=alg,
                     private_key=encryption.encrypt(private_pem(private_key)),
                     public_jwk=json.dumps(jwk), certificate=certificate,
                     created_at=now, activates_at=activates_at)
    db.session.add(row)
    return row


def create_tenant_keys(tenant, now):
    """An RSA-2048 and a P-256 key, signing at once (called when a tenant is created)."""
    return [_new_key(tenant, alg, now, now) for alg in ALGORITHMS]


@dataclass(frozen=True)
class KeyRow:
    """A signing_keys row as this process keeps it (idp.platform.config_cache: reloaded after any key change)."""
    id: int
    tenant_id: int
    kid: str
    alg: str
    private_key: str  # encrypted PEM; decrypted and parsed once by `load`
    public_jwk: str
    certificate: str
    created_at: object
    activates_at: object


def _load_rows(tenant_id):
    rows = db.session.scalars(select(SigningKey).where(SigningKey.tenant_id == tenant_id)
                              .order_by(SigningKey.activates_at, SigningKey.id)).all()
    return tuple(KeyRow(id=r.id, tenant_id=r.tenant_id, kid=r.kid, alg=r.alg, private_key=r.private_key,
                        public_jwk=r.public_jwk, certificate=r.certificate, created_at=r.created_at,
                        activates_at=r.activates_at) for r in rows)


def _rows(tenant_id, alg=None):
    """The tenant's keys, oldest first; read once per process until a key changes (rotation)."""
    rows = config_cache.cached(tenant_id, "signing_keys", lambda: _load_rows(tenant_id))
    return [r for r in rows if alg is None or r.alg == alg]


def _timeline(rows, now):
    """[(row, retired_at or None)] for rows of one algorithm, oldest first."""
    result = []
    for index, row in enumerate(rows):
        successors = [r.activates_at for r in rows[index + 1:] if r.activates_at <= now]
        result.append((row, min(successors) if successors else None))
    return result


def key_states(tenant_id, now):
    """Every key of the tenant with its state: pending, signing, retired or expired."""
    _prepublish, retention = _settings()
    states = []
    for alg in ALGORITHMS:
        for row, retired_at in _timeline(_rows(tenant_id, alg), now):
            if row.activates_at > now:
                state = "pending"
            elif retired_at is None:
                state = "signing"
            elif now < retired_at + retention:
                state = "retired"
            else:
                state = "expired"
            states.append({"kid": row.kid, "alg": alg, "state": state, "created_at": row.created_at,
                           "activates_at": row.activates_at, "retired_at": retired_at})
    return states


def _published_rows(tenant_id, now):
    _prepublish, retention = _settings()
    rows = []
    for alg in ALGORITHMS:
        for row, retired_at in _timeline(_rows(tenant_id, alg), now):
            if retired_at is None or now < retired_at + retention:
                rows.append(row)
    return rows


def jwks(tenant_id, now):
    """The JWK Set: pending, signing and retired-but-not-expired public keys."""
    return {"keys": [json.loads(row.public_jwk) for row in _published_rows(tenant_id, now)]}


def saml_certificates(tenant_id, now):
    """[(certificate PEM, is_the_signing_one)] for the metadata, RSA keys only."""
    current = signing_key_row(tenant_id, "RS256", now)
    return [(row.certificate, row.id == current.id) for row in _published_rows(tenant_id, now)
            if row.alg == "RS256"]


def signing_key_row(tenant_id, alg, now):
    rows = [r for r in _rows(tenant_id, alg) if r.activates_at <= now]
    if not rows:
        raise LookupError(f"tenant {tenant_id} has no {alg} signing key")
    return rows[-1]


def signing_key(tenant, alg, now):
    """The key that signs for `tenant` with `alg` now, parsed once per process."""
    try:
        row = signing_key_row(tenant.id, alg, now)
    except LookupError:  # a tenant created before keys existed: give it its keys now
        create_tenant_keys(tenant, now)
        db.session.flush()
        row = signing_key_row(tenant.id, alg, now)
    return load(row)


def load(row):
    cached = _cache.get(row.kid)
    if cached is not None:
        return cached
    pem = encryption.decrypt(row.private_key)
    private_key = serialization.load_pem_private_key(pem, password=None)
    key_class = RSAKey if row.alg == "RS256" else ECKey
    jwk = key_class.import_key(private_key, parameters={"kid": row.kid, "alg": row.alg, "use": "sig"})
    loaded = LoadedKey(kid=row.kid, alg=row.alg, private_key=private_key, jwk=jwk,
                       certificate=row.certificate)
    with _cache_lock:
        _cache[row.kid] = loaded
    return loaded


def rotate(tenant, now, prepublish=None):
    """Create successors for both algorithms; they sign after the pre-publication delay. The caller
    records the rotation (idp.console.security.rotate_keys, an audited admin action)."""
    default_prepublish, _retention = _settings()
    delay = default_prepublish if prepublish is None else timedelta(seconds=prepublish)
    pending = [row for row in _rows(tenant.id) if row.activates_at > now]
    if pending:
        raise Conflict(f"a rotation is already pending (new keys sign from "
                       f"{pending[0].activates_at:%Y-%m-%d %H:%M} UTC)")
    rows = [_new_key(tenant, alg, now, now + delay) for alg in ALGORITHMS]
    db.session.flush()
    return rows
