"""Lockout: 5 consecutive failures lock an account for 30 minutes.

One counter per account, shared by every credential check (password now,
one-time codes with MFA): call `register_failure` on a wrong secret and
`register_success` on a right one. The counter lives in the database, so it
holds across workers and instances. Login IDs that match no account keep a
counter of their own (`UnknownLoginFailure`) and lock the same way, so the
lock message is no hint that an address is registered.
"""
from datetime import timedelta

from sqlalchemy import and_, case, delete, func, inspect, null, select

from idp.logs.audit import NO_CLIENT, record_audit
from idp.models import UnknownLoginFailure
from idp.platform import metrics
from idp.platform.email_address import normalize_email
from idp.platform.extensions import db
from idp.platform.persistence import written
from idp.platform.random_tokens import digest

MAX_FAILURES = 5
LOCK_PERIOD = timedelta(minutes=30)


def is_locked(record, now):
    """`record` is an Account or an UnknownLoginFailure (same two columns)."""
    return record.locked_at is not None and now < record.locked_at + LOCK_PERIOD


def register_failure(record, now):
    """Count one failure; return True when the record is (now) locked.

    The count is one UPDATE in the database (a lock that ran out starts a fresh count), not a
    read-modify-write of the loaded row: wrong guesses sent in parallel, each waiting ~20 ms for its
    hash, all count."""
    db.session.flush()  # a new record (a login ID's first failure) gets its row first
    table, key = type(record).__table__, inspect(type(record)).primary_key[0]
    row_id, c = getattr(record, key.key), table.c
    ran_out = and_(c.locked_at.is_not(None), c.locked_at <= now - LOCK_PERIOD)
    count, locked_at = db.session.execute(
        table.update().where(key == row_id).values(
            failed_login_count=case((ran_out, 1), else_=func.coalesce(c.failed_login_count, 0) + 1),
            locked_at=case((ran_out, null()), else_=c.locked_at))
        .returning(c.failed_login_count, c.locked_at)).one()
    if count >= MAX_FAILURES and locked_at is None:
        lock = table.update().where(key == row_id, c.locked_at.is_(None)).values(locked_at=now)
        if db.session.execute(lock).rowcount:  # this failure locked it (not a parallel one)
            metrics.count_lockout("unknown_login_id" if isinstance(record, UnknownLoginFailure) else "account")
        locked_at = db.session.scalar(select(c.locked_at).where(key == row_id))
    written(record, failed_login_count=count, locked_at=locked_at)
    return is_locked(record, now)


def register_success(account):
    account.failed_login_count = 0
    account.locked_at = None


def unlock(account, *, now, actor, client=NO_CLIENT):
    """Lift a lock early (an admin of the tenant, or an operator)."""
    was_locked = is_locked(account, now)
    register_success(account)
    record_audit(tenant_id=account.tenant_id, actor=actor, action="account.unlock", target=account, now=now,
                 changes={"was_locked": was_locked}, client=client)


def unknown_record(login_id, now, create=False):
    """The failure record of a login ID that matches no account (created on demand)."""
    key = digest(normalize_email(login_id))
    row = db.session.get(UnknownLoginFailure, key)
    if row is None and create:
        db.session.execute(delete(UnknownLoginFailure).where(UnknownLoginFailure.updated_at < now - LOCK_PERIOD))
        row = UnknownLoginFailure(login_key=key, failed_login_count=0, updated_at=now)
        db.session.add(row)
    if row is not None and create:
        row.updated_at = now
    return row
