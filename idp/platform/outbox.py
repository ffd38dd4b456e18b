"""The transactional outbox: every outgoing mail and SMS is a row of `outbox_messages`.

  add(session, kind, recipient, payload, …)  a pending row in the caller's transaction: a rolled-back
                                             change sends nothing, a committed one is never lost
  record_attempt(kind, recipient, payload, …) an SMS sent at once: its row says how it went (and holds
                                             the text for a retry while the code is still valid)
  deliver(ids, channels, now)                 claim and send these rows (the ones a commit just made)
  deliver_due(channels, now)                  claim and send every row that is due (the periodic sweep,
                                             `idp mail deliver`)
  queue_stats(), counts(), failures()         what waits and what failed (metrics, CLI, admin's logs)
  purge(now)                                  delete sent and given-up rows after RETENTION (`idp mail purge`)

A claim is one conditional UPDATE (status, claimed_by, claimed_until) on both backends: of two instances
sweeping at once, only the one whose UPDATE matched the row sends it (PostgreSQL re-checks the
condition after the other's commit). A claim whose process died expires after CLAIM_LEASE and the row
is taken again. A failed attempt is retried after 30 s, 1 min, 2 min … (at most an hour apart) until
the row's `give_up_at` (24 h for mail), then it is `failed`. The body is encrypted at rest
(idp.platform.encryption) and wiped once the message is sent or given up.
`on_failure` callbacks (e.g. a metric) are called as `callback(kind, gave_up)` after each failed attempt.
"""
import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from sqlalchemy import and_, delete, event, func, insert, or_, select, update
from sqlalchemy.orm import Session

from idp.models.outbox import OutboxMessage
from idp.platform import encryption
from idp.platform.clock import current_time
from idp.platform.extensions import db

log = logging.getLogger(__name__)

MAIL, SMS = "mail", "sms"
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
STATUSES = (PENDING, SENDING, SENT, FAILED)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
MAIL_DEADLINE = timedelta(hours=24)
CLAIM_LEASE = timedelta(minutes=5)
RETENTION = timedelta(days=30)  # sent and given-up rows (recipients, errors; never bodies) then go
BATCH = 100
ERROR_LENGTH = 300
_DEFERRED_KEY = "idp_outbox_deferred"

on_failure = []  # callables (kind, gave_up): called after each failed attempt (metrics)


@dataclass(frozen=True)
class Channel:
    """How one kind of message goes out: `send(recipient, payload)` raises on failure; failures are
    logged on `log` (so mail failures show under idp.platform.mail)."""
    send: Callable[[str, bytes], None]
    log: logging.Logger


def retry_delay(attempts):
    """The wait after the `attempts`-th failed attempt: 30 s, 1 min, 2 min, … at most an hour."""
    return min(FIRST_RETRY * 2 ** max(0, min(attempts - 1, 20)), MAX_RETRY)


_worker_ids = {}


def worker_id():
    """This process's name in `claimed_by` (host, pid and a random part: a new one after a fork)."""
    pid = os.getpid()
    if pid not in _worker_ids:
        _worker_ids[pid] = f"{socket.gethostname()[:60]}:{pid}:{secrets.token_hex(4)}"
    return _worker_ids[pid]


def error_text(exc):
    """What is stored and shown of a failure: the exception's type and its first words, no payload."""
    detail = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {detail}"[:ERROR_LENGTH] if detail else type(exc).__name__


UNREACHABLE, REFUSED, OTHER = "unreachable", "refused", "other"
_UNREACHABLE = ("ConnectionRefusedError", "ConnectionResetError", "ConnectionError", "TimeoutError", "OSError",
                "gaierror", "SMTPConnectError", "SMTPServerDisconnected", "SMTPHeloError", "SmsDeliveryError")
_REFUSED = ("SMTPRecipientsRefused", "SMTPSenderRefused", "SMTPDataError", "SMTPAuthenticationError")


def failure_reason(last_error):
    """What a stored error means for the tenant's admin (UNREACHABLE, REFUSED or OTHER); the error text itself
    (`idp mail queue`) names the operator's servers and is for the operator."""
    kind = (last_error or "").partition(":")[0].strip()
    return UNREACHABLE if kind in _UNREACHABLE else REFUSED if kind in _REFUSED else OTHER


# --- writing ----------------------------------------------------------------------------------------

def add(session, kind, recipient, payload, *, tenant_id, now, give_up_at=None):
    """A pending row for `payload` (bytes), in the session's transaction; returns the row."""
    row = OutboxMessage(kind=kind, tenant_id=tenant_id, recipient=recipient, body=encryption.encrypt(payload),
                        status=PENDING, attempts=0, next_attempt_at=now,
                        give_up_at=give_up_at or now + MAIL_DEADLINE, created_at=now)
    session.add(row)
    return row


def record_attempt(kind, recipient, payload, *, tenant_id, now, error=None, retry_until=None):
    """The row of a message the caller has just tried to send itself (an SMS code): sent, or failed and
    pending a retry only while `now + first retry` is before `retry_until`.

    Written when the request's transaction ends (committed or not: the attempt happened either way),
    through a connection of its own; at once when no transaction is open.
    """
    values = {"kind": kind, "tenant_id": tenant_id, "recipient": recipient, "attempts": 1, "created_at": now,
              "give_up_at": retry_until or now, "next_attempt_at": now, "body": None, "sent_at": None,
              "last_error": None}
    if error is None:
        values.update(status=SENT, sent_at=now)
    else:
        values.update(_failure_values(1, error, now, values["give_up_at"]))
        if values["status"] == PENDING:
            values["body"] = encryption.encrypt(payload)
        _notify(kind, values["status"] == FAILED)
    session = db.session()
    if session.in_transaction():
        session.info.setdefault(_DEFERRED_KEY, []).append(values)
    else:
        _insert([values])


def _insert(rows):
    with db.engine.begin() as connection:
        connection.execute(insert(OutboxMessage.__table__), rows)


@event.listens_for(Session, "after_transaction_end")
def _write_deferred(session, transaction):
    if transaction.parent is not None or not session.info.get(_DEFERRED_KEY):
        return
    rows = session.info.pop(_DEFERRED_KEY)
    try:
        _insert(rows)
    except Exception:  # bookkeeping of a message already sent or refused: never break the request
        log.exception("could not record %d sent message(s) in the outbox", len(rows))


# --- delivering -------------------------------------------------------------------------------------

def _due(now):
    return or_(and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
               and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_until < now))


def claim(message_id, worker, now):
    """Take the row for `worker` if it is due and nobody holds it; its data, or None."""
    table = OutboxMessage.__table__
    with db.engine.begin() as connection:
        claimed = connection.execute(
            update(table).where(table.c.id == message_id, _due(now))
            .values(status=SENDING, claimed_by=worker, claimed_until=now + CLAIM_LEASE,
                    attempts=table.c.attempts + 1)).rowcount
        if claimed != 1:
            return None
        return connection.execute(select(table).where(table.c.id == message_id)).one()


def deliver(ids, channels, now, worker=None):
    """Claim and send the rows `ids`; returns {"sent": n, "retrying": n, "failed": n}."""
    worker = worker or worker_id()
    result = {"sent": 0, "retrying": 0, "failed": 0}
    for message_id in ids:
        row = claim(message_id, worker, now)
        if row is not None:
            result[_send(row, channels, worker, now)] += 1
    return result


def deliver_due(channels, now, worker=None):
    """Deliver every row due at `now` (in batches); returns the counts as `deliver`."""
    total = {"sent": 0, "retrying": 0, "failed": 0}
    while True:
        with db.engine.connect() as connection:  # no read transaction held while sending
            ids = connection.execute(select(OutboxMessage.id).where(_due(now))
                                     .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                                     .limit(BATCH)).scalars().all()
        for key, count in deliver(ids, channels, now, worker).items():
            total[key] += count
        if len(ids) < BATCH:
            return total


def _send(row, channels, worker, now):
    channel = channels[row.kind]
    try:
        if row.body is None:
            raise ValueError("nothing to send (the body was wiped)")
        channel.send(row.recipient, encryption.decrypt(row.body))
    except Exception as exc:  # a mail server or SMS provider outage must never break the caller
        values = _failure_values(row.attempts, exc, now, row.give_up_at)
        _finish(row.id, worker, values)
        gave_up = values["status"] == FAILED
        channel.log.error("%s delivery failed (message %s, attempt %d): %s; %s", row.kind, row.id, row.attempts,
                          values["last_error"], "given up" if gave_up else f"next try at {values['next_attempt_at']}")
        _notify(row.kind, gave_up)
        return "failed" if gave_up else "retrying"
    _finish(row.id, worker, {"status": SENT, "sent_at": now, "body": None, "last_error": None})
    return "sent"


def _failure_values(attempts, exc, now, give_up_at):
    next_attempt = now + retry_delay(attempts)
    values = {"last_error": error_text(exc), "next_attempt_at": next_attempt}
    if next_attempt >= give_up_at:
        values.update(status=FAILED, body=None)
    else:
        values["status"] = PENDING
    return values


def _finish(message_id, worker, values):
    table = OutboxMessage.__table__
    with db.engine.begin() as connection:
        connection.execute(update(table).where(table.c.id == message_id, table.c.claimed_by == worker)
                           .values(claimed_by=None, claimed_until=None, **values))


def _notify(kind, gave_up):
    for callback in list(on_failure):
        try:
            callback(kind, gave_up)
        except Exception:
            log.exception("outbox on_failure callback failed")


def purge(now):
    """Delete the sent and given-up rows older than RETENTION (all tenants); returns how many. Waiting rows
    stay whatever their age: they are still to be delivered or given up."""
    return db.session.execute(delete(OutboxMessage).where(
        OutboxMessage.status.in_((SENT, FAILED)), OutboxMessage.created_at < now - RETENTION)).rowcount


# --- reading ----------------------------------------------------------------------------------------

def counts():
    """{status: number of rows} for every status."""
    found = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return {status: found.get(status, 0) for status in STATUSES}


def queue_stats(now=None):
    """{"pending": waiting (or being sent), "failed": given up, "oldest_pending_seconds": age of the oldest
    waiting message, 0 when none} (for a metrics gauge)."""
    now = now or current_time()
    by_status = counts()
    oldest = db.session.scalar(select(func.min(OutboxMessage.created_at))
                               .where(OutboxMessage.status.in_((PENDING, SENDING))))
    return {"pending": by_status[PENDING] + by_status[SENDING], "failed": by_status[FAILED],
            "oldest_pending_seconds": max(0.0, (now - oldest).total_seconds()) if oldest else 0.0}


def failures(tenant_id=None, limit=20, all_tenants=False):
    """The latest messages that failed (given up, or waiting for a retry after an error), newest first:
    of one tenant, or of every tenant when `all_tenants`."""
    query = select(OutboxMessage).where(or_(OutboxMessage.status == FAILED,
                                            and_(OutboxMessage.status.in_((PENDING, SENDING)),
                                                 OutboxMessage.last_error.is_not(None))))
    if not all_tenants:
        query = query.where(OutboxMessage.tenant_id == tenant_id)
    return db.session.scalars(query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                              .limit(limit)).all()
