"""Per-process copies of a tenant's protocol configuration, checked by one version read per request.

What is cached: the tenant row, OIDC clients (with their app), the groups an app is assigned to, the
MFA policy (idp.authn.mfa.policy), signing keys (keys/). Every ORM change to a watched model (Tenant, App,
Group, OidcClient, MfaPolicy, and what others `watch()`, e.g. SigningKey) sets the tenant's
`config_cache_versions` row to a fresh random value in the same transaction (after_flush). A request
reads that value once, together with the tenant's id and status (`tenant_by_slug`), and a worker
whose copies carry another value drops them. So every worker sees a committed change at its next
request: no TTL, no stale window, and the version row cannot be confused by a purged tenant's id
being reused (the value is random).

Copies are detached ORM instances, never attached themselves: `attach()` merges a copy into the
request's session without a query (`merge(load=False)`), so callers get ordinary instances.
"""
import secrets
from itertools import chain

from flask import current_app, has_app_context
from sqlalchemy import bindparam, event, inspect, select, text
from sqlalchemy.orm import Session, joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from idp.models import App, Group, MfaPolicy, Tenant
from idp.models.oidc import OidcClient
from idp.models.tenancy import ConfigCacheVersion
from idp.platform.extensions import db

EXTENSION = "idp_config_cache"
MEMO = "idp_config_versions"  # db.session.info: versions read in this transaction
_watched = [Tenant, App, Group, OidcClient, MfaPolicy]
_BUMP = text("INSERT INTO config_cache_versions (tenant_id, version) SELECT id, :version FROM tenants "
             "WHERE id = :tenant_id ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version")

# Plain column reads, built once and run on the session's connection (no ORM result processing).
_versions = ConfigCacheVersion.__table__.c
_TENANT_VERSION = (select(Tenant.__table__.c.id, _versions.version)
                   .outerjoin(ConfigCacheVersion.__table__, _versions.tenant_id == Tenant.__table__.c.id)
                   .where(Tenant.__table__.c.slug == bindparam("slug")))
_VERSION = select(_versions.version).where(_versions.tenant_id == bindparam("tenant_id"))


def watch(model):
    """Changes to rows of `model` (which has a tenant_id) invalidate that tenant's copies."""
    if model not in _watched:
        _watched.append(model)


def _store():
    return current_app.extensions.setdefault(EXTENSION, {})


def _memo():
    return db.session().info.setdefault(MEMO, {})


def tenant_by_slug(slug):
    """The tenant (attached to the session) for a slug, or None; reads and remembers its version."""
    row = db.session.connection().execute(_TENANT_VERSION, {"slug": slug}).first()
    if row is None:
        return None
    _memo()[row.id] = row.version or 0
    copy = cached(row.id, "tenant", lambda: detached_copy(db.session.get(Tenant, row.id)))
    return attach(copy)


def version_of(tenant_id):
    memo = _memo()
    if tenant_id not in memo:
        memo[tenant_id] = db.session.connection().execute(_VERSION, {"tenant_id": tenant_id}).scalar() or 0
    return memo[tenant_id]


def cached(tenant_id, key, load):
    """This process's copy of `key` for the tenant, made by `load()` when missing or outdated.
    `None` results are not kept (unknown client ids must not fill the memory). Unflushed changes to
    watched models are flushed first, as a query's autoflush would, so they count."""
    _flush_watched_changes()
    version = version_of(tenant_id)
    store = _store()
    entry = store.get(tenant_id)
    if entry is None or entry[0] != version:
        entry = store[tenant_id] = (version, {})
    values = entry[1]
    if key in values:
        return values[key]
    value = load()
    if value is not None:
        values[key] = value
    return value


def registration(tenant, model, column, value):
    """The tenant's row of `model` (an OIDC client or a SAML SP, with its app) whose `column` is `value`,
    attached to the session, or None (another tenant's row is unknown here). From this process's copies."""
    copy = cached(tenant.id, (model.__tablename__, value), lambda: _registration_copy(tenant, model, column, value))
    return attach(copy) if copy is not None else None


def _registration_copy(tenant, model, column, value):
    row = db.session.scalar(select(model).options(joinedload(model.app)).where(
        model.tenant_id == tenant.id, column == value))
    return detached_copy(row, app=detached_copy(row.app)) if row is not None else None


def _flush_watched_changes():
    session = db.session()
    if any(isinstance(obj, tuple(_watched)) for obj in chain(session.new, session.dirty, session.deleted)):
        session.flush()


def detached_copy(obj, **relations):
    """A detached copy of a loaded instance (column values only, plus the given relations)."""
    if obj is None:
        return None
    mapper = inspect(obj).mapper
    copy = mapper.class_manager.new_instance()
    for attr in mapper.column_attrs:
        set_committed_value(copy, attr.key, getattr(obj, attr.key))
    make_transient_to_detached(copy)
    for name, value in relations.items():
        set_committed_value(copy, name, value)
    return copy


def attach(copy):
    """An instance in the current session equal to the cached copy, without a query. An instance the
    session already holds wins: merge(load=False) would copy the cached state over its pending edits."""
    existing = db.session.identity_map.get(identity_key(instance=copy))
    if existing is not None:
        return existing
    return db.session.merge(copy, load=False)


@event.listens_for(Session, "after_flush")
def _bump_changed_tenants(session, _context):
    deleted = {obj.id for obj in session.deleted if isinstance(obj, Tenant)}
    changed = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, tuple(_watched)):
            changed.add(obj.id if isinstance(obj, Tenant) else obj.tenant_id)
    changed -= deleted | {None}
    if not changed and not deleted:
        return
    connection = session.connection()
    for tenant_id in sorted(changed):
        connection.execute(_BUMP, {"tenant_id": tenant_id, "version": secrets.randbits(62) + 1})
    memo = session.info.get(MEMO, {})
    store = _store() if has_app_context() else {}
    for tenant_id in changed | deleted:
        memo.pop(tenant_id, None)
        store.pop(tenant_id, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_versions(session):
    session.info.pop(MEMO, None)
