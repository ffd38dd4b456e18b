"""Delivery of `provisioning_changes` rows to the apps' SCIM servers, mirroring idp.platform.outbox.

A row is due when pending and its time has come (or its claim expired) and no earlier row of the same
(app, subject) still waits: the changes of one account reach an app in order. A claim is one conditional
UPDATE (state, claimed_by, claimed_until), so of two processes only one sends a row. A failed attempt is
retried after 30 s, 1 min, 2 min … (at most an hour apart); 24 h after the change the row is `failed`,
with the app's error text, and the account's later rows go ahead. Sent and given-up rows are deleted
30 days after the change (`purge`, `idp provisioning purge`, daily as `idp mail purge`).

What is sent is the account's state at send time: an upsert with a later row of the same account waiting
is skipped (the later one carries the newer state), a deprovision is always sent.
"""
import json
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from idp.models import Account, group_apps
from idp.models.provisioning import (DEPROVISION, FAILED, PENDING, RECONCILE, SENDING, SENT, ProvisioningChange,
                                     ProvisioningTarget)
from idp.platform import encryption, outbound
from idp.platform.extensions import db
from idp.platform.outbox import error_text, retry_delay, worker_id
from idp.provisioning import push, reconcile
from idp.provisioning.scim_client import ScimClient

log = logging.getLogger(__name__)
DEADLINE = timedelta(hours=24)
RETENTION = timedelta(days=30)  # sent and given-up rows (the console lists the failures of that period)
CLAIM_LEASE = timedelta(minutes=5)
RECONCILE_LEASE = timedelta(minutes=30)
BATCH = 100
MAX_ROUNDS = 1000  # batches of one sweep
_TABLE = ProvisioningChange.__table__
_TARGETS = ProvisioningTarget.__table__


def _earlier_waits():
    earlier = aliased(ProvisioningChange)
    return exists().where(earlier.app_id == ProvisioningChange.app_id, earlier.subject == ProvisioningChange.subject,
                          earlier.state.in_((PENDING, SENDING)),
                          or_(earlier.sequence < ProvisioningChange.sequence,
                              and_(earlier.sequence == ProvisioningChange.sequence,
                                   earlier.id < ProvisioningChange.id)))


def _due(now):
    return and_(or_(and_(ProvisioningChange.state == PENDING, ProvisioningChange.next_attempt_at <= now),
                    and_(ProvisioningChange.state == SENDING, ProvisioningChange.claimed_until < now)),
                ~_earlier_waits())


def claim(change_id, worker, now):
    """Take the row for `worker` if it is due and nobody holds it; its data, or None."""
    with db.engine.begin() as connection:
        claimed = connection.execute(
            update(ProvisioningChange).where(ProvisioningChange.id == change_id, _due(now))
            .values(state=SENDING, claimed_by=worker, claimed_until=now + CLAIM_LEASE,
                    attempts=ProvisioningChange.attempts + 1).execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            return None
        return connection.execute(select(_TABLE).where(_TABLE.c.id == change_id)).one()


def deliver_due(now, worker=None):
    """Send every row due at `now`, each account's rows in order; {"sent", "retrying", "failed"} counts."""
    worker = worker or worker_id()
    total = {"sent": 0, "retrying": 0, "failed": 0}
    for _ in range(MAX_ROUNDS):
        with db.engine.connect() as connection:
            ids = connection.execute(select(ProvisioningChange.id).where(_due(now))
                                     .order_by(ProvisioningChange.next_attempt_at, ProvisioningChange.id)
                                     .limit(BATCH)).scalars().all()
        handled = 0
        for change_id in ids:
            row = claim(change_id, worker, now)
            if row is not None:
                total[send(row, worker, now)] += 1
                handled += 1
        if not handled:
            break
    return total


def client_for(target):
    token = encryption.decrypt(target.token).decode("utf-8") if target.token else ""
    return ScimClient(target.base_url, token, allow_private=outbound.private_targets_allowed(
        current_app.config, "IDP_PROVISIONING_PRIVATE_TARGETS"))


def send(row, worker, now):
    """One claimed row: "sent", "retrying" or "failed"."""
    with db.engine.connect() as connection:
        target = connection.execute(select(_TARGETS).where(_TARGETS.c.app_id == row.app_id)).first()
    try:
        if target is None or not target.enabled:
            raise RuntimeError("provisioning is turned off for this app")
        if row.operation == RECONCILE:
            _extend_claim(row.id, worker, now)
            reconcile.run(client_for(target), target, now)
        else:
            _push(row, target)
    except Exception as exc:  # an app's outage or refusal must never break the sweep
        return _failed(row, target, worker, now, exc)
    _finish(row.id, worker, {"state": SENT, "sent_at": now, "payload": None, "last_error": None})
    _set_target(row.app_id, last_sync_at=now, last_error=None)
    return "sent"


def _push(row, target):
    if row.operation == DEPROVISION:
        found = json.loads(row.payload or "{}")
        push.deprovision(client_for(target), target, row.subject, found.get("userName"))
        return
    if _later_waits(row):
        return  # superseded: the later row sends the newer state
    with Session(db.engine) as session:
        account = session.scalar(select(Account).where(Account.tenant_id == row.tenant_id,
                                                       Account.subject == row.subject))
        if account is None or not _may_use(session, account, row.app_id):
            return  # deleted or moved out since: its deprovision row follows
        push.upsert(client_for(target), target, account)


def _may_use(session, account, app_id):
    return session.scalar(select(group_apps.c.app_id).where(group_apps.c.group_id == account.group_id,
                                                            group_apps.c.app_id == app_id)) is not None


def _later_waits(row):
    with db.engine.connect() as connection:
        return connection.execute(select(_TABLE.c.id).where(
            _TABLE.c.app_id == row.app_id, _TABLE.c.subject == row.subject, _TABLE.c.state == PENDING,
            or_(_TABLE.c.sequence > row.sequence, and_(_TABLE.c.sequence == row.sequence, _TABLE.c.id > row.id)))
            .limit(1)).first() is not None


def _failed(row, target, worker, now, exc):
    text = error_text(exc)
    next_attempt = now + retry_delay(row.attempts)
    gave_up = next_attempt >= row.created_at + DEADLINE
    values = {"last_error": text, "next_attempt_at": next_attempt, "state": FAILED if gave_up else PENDING}
    if gave_up:
        values["payload"] = None
    _finish(row.id, worker, values)
    if target is not None:
        _set_target(row.app_id, last_error=text)
    log.warning("provisioning to app %s failed (change %s, attempt %d): %s; %s", row.app_id, row.id, row.attempts,
                text, "given up" if gave_up else f"next try at {next_attempt}")
    return "failed" if gave_up else "retrying"


def _extend_claim(change_id, worker, now):
    with db.engine.begin() as connection:
        connection.execute(update(_TABLE).where(_TABLE.c.id == change_id, _TABLE.c.claimed_by == worker)
                           .values(claimed_until=now + RECONCILE_LEASE))


def _finish(change_id, worker, values):
    with db.engine.begin() as connection:
        connection.execute(update(_TABLE).where(_TABLE.c.id == change_id, _TABLE.c.claimed_by == worker)
                           .values(claimed_by=None, claimed_until=None, **values))


def _set_target(app_id, **values):
    """Core UPDATE: the target's bookkeeping must not renew the tenant's cached configuration."""
    with db.engine.begin() as connection:
        connection.execute(update(_TARGETS).where(_TARGETS.c.app_id == app_id).values(**values))


def purge(now):
    """Delete the sent and given-up rows of changes older than RETENTION (all tenants); returns how many.
    Waiting rows stay whatever their age (they still keep an account's later changes in order)."""
    return db.session.execute(db.delete(ProvisioningChange).where(
        ProvisioningChange.state.in_((SENT, FAILED)), ProvisioningChange.created_at < now - RETENTION)
        .execution_options(synchronize_session=False)).rowcount
