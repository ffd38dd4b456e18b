"""Capture: account changes become rows of `provisioning_changes` in the flush that writes them.

Session events on db.session (registered once by `register`, from idp.provisioning.worker.init_app):
- before_flush notes the accounts created, deleted, or changed in a field the SCIM User carries
  (SCIM_FIELDS; a login's last_login_at is not one) or in their group, with their group before the flush,
  and the groups that gain or lose apps; the apps each of those groups had (group_apps, before);
- after_flush compares, for every app of the tenant with pushing enabled, whether each of those accounts
  could use it before and can after: upsert when it can (and it is new to it, or changed), deprovision when
  it no longer can (deleted, moved out, its group lost the app), and inserts the rows on the flush's own
  connection, so a rolled-back change leaves nothing to push;
- do_orm_execute sees a bulk `update(Account)` of group_id (deleting a group moves its members) and queues
  the same way before the statement runs.
Tenants without an enabled target cost one cached check (`enabled_targets`: this process's copy, kept
while the tenant's config_cache version stays), and only when something relevant changed. After the
commit the worker is told there is work (idp.provisioning.worker).
"""
from dataclasses import dataclass
from typing import Optional

from flask import current_app, has_app_context
from sqlalchemy import event, func, insert, inspect, select

from idp.models import Account, App, Group, group_apps
from idp.models.provisioning import (DEPROVISION, PENDING, RECONCILE, RECONCILE_SUBJECT, UPSERT, ProvisioningChange,
                                     ProvisioningTarget)
from idp.platform import config_cache
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.provisioning.push import snapshot

EXTENSION = "idp_provisioning"
SCIM_FIELDS = ("email", "name", "phone", "mobile", "organization", "department", "role", "status",
               "valid_from", "valid_to")
_NOTED = "idp_provisioning_noted"
QUEUED = "idp_provisioning_queued"
CHUNK = 500
_CHANGES = ProvisioningChange.__table__
_registered = []


@dataclass
class Noted:
    """An account of a flush: its group before (None: new) and after (None: deleted)."""
    tenant_id: int
    subject: str
    email: str
    old_group: Optional[int]
    new_group: Optional[int]
    changed: bool
    account: object = None


def register():
    """Listen on db.session (once per process) and let target changes renew the tenant's cached copies."""
    if _registered:
        return
    config_cache.watch(ProvisioningTarget)
    event.listen(db.session, "before_flush", _before_flush)
    event.listen(db.session, "after_flush", _after_flush)
    event.listen(db.session, "do_orm_execute", _bulk_update)
    _registered.append(True)


def _active():
    return has_app_context() and EXTENSION in current_app.extensions


def enabled_targets(tenant_id):
    """{app_id: deprovision action} of the tenant's apps with pushing enabled (this process's copy)."""
    version = config_cache.version_of(tenant_id)
    store = current_app.extensions[EXTENSION].targets
    entry = store.get(tenant_id)
    if entry is None or entry[0] != version:
        rows = db.session.connection().execute(select(ProvisioningTarget.app_id, ProvisioningTarget.deprovision).where(
            ProvisioningTarget.tenant_id == tenant_id, ProvisioningTarget.enabled.is_(True))).all()
        entry = store[tenant_id] = (version, dict(rows))
    return entry[1]


# --- before the flush ---------------------------------------------------------------------------

def _changed_fields(account):
    attrs = inspect(account).attrs
    return any(attrs[key].history.has_changes() for key in SCIM_FIELDS)


def _moved(account):
    attrs = inspect(account).attrs
    return attrs.group_id.history.has_changes() or attrs.group.history.has_changes()


def _changed_groups(session):
    """The ids of the groups whose apps change in this flush."""
    groups = set()
    for obj in session.dirty:
        if isinstance(obj, Group) and inspect(obj).attrs.apps.history.has_changes():
            groups.add(obj.id)
        elif isinstance(obj, App) and obj not in session.deleted:
            added, _, removed = inspect(obj).attrs.groups.history
            groups.update(group.id for group in (*added, *removed) if group.id is not None)
    return groups


def _before_flush(session, _context, _instances):
    if not _active():
        return
    new = [obj for obj in session.new if isinstance(obj, Account)]
    dirty = [obj for obj in session.dirty if isinstance(obj, Account) and (_changed_fields(obj) or _moved(obj))]
    gone = [obj for obj in session.deleted if isinstance(obj, Account)]
    groups = _changed_groups(session)
    if not (new or dirty or gone or groups):
        return
    tenants = {obj.tenant_id for obj in (*new, *dirty, *gone)}
    if groups:
        tenants |= set(session.connection().execute(select(Group.tenant_id).where(Group.id.in_(groups))).scalars())
    targets = {tenant_id: enabled_targets(tenant_id) for tenant_id in tenants if tenant_id is not None}
    if not any(targets.values()):
        return
    stored = dict(session.connection().execute(select(Account.id, Account.group_id).where(
        Account.id.in_([obj.id for obj in (*dirty, *gone)]))).all()) if dirty or gone else {}
    noted = [Noted(obj.tenant_id, obj.subject, obj.email, None, None, True, obj) for obj in new]
    noted += [Noted(obj.tenant_id, obj.subject, obj.email, stored.get(obj.id), None, _changed_fields(obj), obj)
              for obj in dirty]
    noted += [Noted(obj.tenant_id, obj.subject, obj.email, stored.get(obj.id, obj.group_id), None, True)
              for obj in gone]
    before = _apps_of(session.connection(), {n.old_group for n in noted} | groups)
    session.info.setdefault(_NOTED, []).append((noted, groups, before, targets))


def _apps_of(connection, group_ids):
    """{group id: set of app ids} as the database has them now."""
    found = {group_id: set() for group_id in group_ids if group_id is not None}
    ids = list(found)
    for start in range(0, len(ids), CHUNK):
        for group_id, app_id in connection.execute(select(group_apps.c.group_id, group_apps.c.app_id).where(
                group_apps.c.group_id.in_(ids[start:start + CHUNK]))):
            found[group_id].add(app_id)
    return found


# --- after the flush ----------------------------------------------------------------------------

def _after_flush(session, _context):
    for noted, groups, before, targets in session.info.pop(_NOTED, ()):
        for item in noted:
            if item.account is not None:  # new or changed (a deleted account has none): its group now
                item.new_group = item.account.group_id
        connection = session.connection()
        seen = {item.subject for item in noted}
        for row in connection.execute(select(Account.tenant_id, Account.subject, Account.email, Account.group_id)
                                      .where(Account.group_id.in_(groups))) if groups else ():
            if row.subject not in seen:
                noted.append(Noted(row.tenant_id, row.subject, row.email, row.group_id, row.group_id, False))
        after = _apps_of(connection, {item.new_group for item in noted})
        queue_rows(session, connection, _decide(noted, before, after, targets))


def _decide(noted, before, after, targets):
    """[(tenant id, app id, subject, operation, payload)] for each enabled app whose access changes."""
    rows = []
    for item in noted:
        for app_id in targets.get(item.tenant_id, {}):
            could = item.old_group is not None and app_id in before.get(item.old_group, ())
            can = item.new_group is not None and app_id in after.get(item.new_group, ())
            if can and (item.changed or not could):
                rows.append((item.tenant_id, app_id, item.subject, UPSERT, None))
            elif could and not can:
                rows.append((item.tenant_id, app_id, item.subject, DEPROVISION, snapshot(item.subject, item.email)))
    return rows


def queue_rows(session, connection, rows, now=None):
    """Insert the rows (sequence: after the (app, subject)'s last one) on the flush's connection."""
    if not rows:
        return
    now = now or current_time()
    last = {}
    keys = sorted({(app_id, subject) for _, app_id, subject, _, _ in rows})
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        last.update({(a, s): n for a, s, n in connection.execute(
            select(_CHANGES.c.app_id, _CHANGES.c.subject, func.max(_CHANGES.c.sequence))
            .where(_CHANGES.c.app_id.in_({a for a, _ in chunk}), _CHANGES.c.subject.in_({s for _, s in chunk}))
            .group_by(_CHANGES.c.app_id, _CHANGES.c.subject))})
    values = []
    for tenant_id, app_id, subject, operation, payload in rows:
        sequence = last[(app_id, subject)] = last.get((app_id, subject), 0) + 1
        values.append({"tenant_id": tenant_id, "app_id": app_id, "subject": subject, "operation": operation,
                       "payload": payload, "sequence": sequence, "state": PENDING, "attempts": 0,
                       "next_attempt_at": now, "created_at": now})
    connection.execute(insert(_CHANGES), values)
    session.info[QUEUED] = True


def _entity(statement):
    try:
        return statement.entity_description["entity"]
    except (AttributeError, KeyError, TypeError):
        return None


def _bulk_update(state):
    """A bulk `update(Account)` that sets group_id: queue for the accounts it matches, before it runs."""
    if not (state.is_update and _active()) or _entity(state.statement) is not Account:
        return
    new_group = state.statement.compile().params.get("group_id")
    if new_group is None or state.statement.whereclause is None:
        return
    session = state.session
    connection = session.connection()
    matched = connection.execute(select(Account.tenant_id, Account.subject, Account.email, Account.group_id)
                                 .where(state.statement.whereclause)).all()
    targets = {tenant_id: enabled_targets(tenant_id) for tenant_id in {row.tenant_id for row in matched}}
    if not any(targets.values()):
        return
    noted = [Noted(row.tenant_id, row.subject, row.email, row.group_id, new_group, False) for row in matched]
    apps = _apps_of(connection, {row.group_id for row in matched} | {new_group})
    queue_rows(session, connection, _decide(noted, apps, apps, targets))


def queue_reconcile(session, tenant_id, app_id, now):
    """A full reconciliation of the app, sent by the worker after the commit."""
    queue_rows(session, session.connection(), [(tenant_id, app_id, RECONCILE_SUBJECT, RECONCILE, None)], now)
