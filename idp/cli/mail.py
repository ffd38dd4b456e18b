"""Operator commands on the outgoing mail and SMS queue (idp.platform.outbox).

`idp mail deliver` sends every message that is due once (cron, or after an SMTP outage);
`idp mail queue` shows what waits and the latest failures (recipients masked);
`idp mail purge` deletes sent and given-up messages older than 30 days (run daily, like `idp logs purge`).
"""
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from idp.cli.output import Output, json_option, transactional
from idp.models import Tenant
from idp.platform import outbox, sms
from idp.platform.clock import current_time
from idp.platform.extensions import db

mail_cli = AppGroup("mail", help="The outgoing mail and SMS queue.")
FAILURES_SHOWN = 20


@mail_cli.command("deliver")
@json_option
@transactional
def mail_deliver(as_json):
    """Send every queued message that is due now (each at most once, also with other instances running)."""
    counts = outbox.deliver_due(current_app.extensions["idp_mail"].channels(), current_time())
    return Output(as_json, counts,
                  f"sent {counts['sent']}, to retry {counts['retrying']}, given up {counts['failed']}")


@mail_cli.command("queue")
@json_option
@transactional
def mail_queue(as_json):
    """Messages by status, the age of the oldest waiting one and the latest failures."""
    now = current_time()
    stats = outbox.queue_stats(now)
    rows = outbox.failures(limit=FAILURES_SHOWN, all_tenants=True)
    slugs = dict(db.session.execute(select(Tenant.id, Tenant.slug).where(
        Tenant.id.in_({row.tenant_id for row in rows if row.tenant_id}))).all())
    failures = [{"id": row.id, "kind": row.kind, "status": row.status, "tenant": slugs.get(row.tenant_id),
                 "recipient": masked(row.kind, row.recipient), "attempts": row.attempts,
                 "created_at": row.created_at.isoformat(), "last_error": row.last_error} for row in rows]
    data = {"counts": outbox.counts(), "oldest_pending_seconds": stats["oldest_pending_seconds"],
            "failures": failures}
    return Output(as_json, data, _text(data))


@mail_cli.command("purge")
@json_option
@transactional
def mail_purge(as_json):
    """Delete sent and given-up messages older than 30 days (their recipients and errors)."""
    deleted = outbox.purge(current_time())
    return Output(as_json, {"deleted": deleted}, f"deleted {deleted} sent or given-up messages")


def masked(kind, recipient):
    """A phone number's last 4 digits; an address's first character and its domain (h***@example.com)."""
    if kind == outbox.SMS:
        return sms.mask(recipient)
    local, _, domain = recipient.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else "***"


def _text(data):
    lines = [", ".join(f"{status} {count}" for status, count in data["counts"].items())
             + f"; oldest waiting {data['oldest_pending_seconds']:.0f} s"]
    for failure in data["failures"]:
        lines.append(f"#{failure['id']} {failure['kind']} {failure['status']} {failure['tenant'] or '-'} "
                     f"{failure['recipient']} attempts {failure['attempts']}: {failure['last_error']}")
    return "\n".join(lines)
