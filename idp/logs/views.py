"""The admin's log views: app login events and admin operations, filtered, paginated, as CSV.

Entries are kept RETENTION (730 days): older ones are never shown and `idp logs purge`
deletes them. Every query is bounded by the tenant and by the retention start.
"""
import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from idp.logs.audit import NO_CLIENT, record_audit
from idp.logs.changes import TenantNames, actor_text, change_lines, target_text
from idp.logs.labels import ACTIONS, LOGIN_TARGETS, METHODS, REASONS, RESULTS, label
from idp.models import App, AuditEvent, LoginEvent
from idp.platform.clock import BUSINESS_TZ
from idp.platform.csv_cells import text_cell
from idp.platform.extensions import db
from idp.platform.paging import contains, fetch_page
from idp.platform.validation import parse_number

RETENTION = timedelta(days=730)
PER_PAGE = 50
MAX_EXPORT = 100_000
# CSV columns: what the pages show, then the stored codes for scripts (and the audit changes as JSON)
LOGIN_COLUMNS = (_l("日時"), _l("ユーザー"), _l("サービス"), _l("認証方式"), _l("結果"), _l("理由"), _l("IPアドレス"),
                 _l("認証方式コード"), _l("結果コード"), _l("理由コード"))
AUDIT_COLUMNS = (_l("日時"), _l("管理者"), _l("操作"), _l("対象"), _l("変更内容"), _l("操作コード"),
                 _l("変更内容（JSON）"))


@dataclass(frozen=True)
class LogFilter:
    """Period as Japan calendar dates (inclusive), plus free-text user and exact app/action/result."""

    date_from: date = None
    date_to: date = None
    user: str = ""
    app_id: int = None
    action: str = ""
    result: str = ""

    @classmethod
    def from_args(cls, args):
        app_id = (args.get("app") or "").strip()
        return cls(date_from=_parse_date(args.get("from")), date_to=_parse_date(args.get("to")),
                   user=(args.get("user") or "").strip()[:254], app_id=parse_number(app_id),
                   action=(args.get("action") or "").strip()[:64],
                   result=args.get("result") if args.get("result") in RESULTS else "")

    def as_args(self):
        values = {"from": self.date_from.isoformat() if self.date_from else "",
                  "to": self.date_to.isoformat() if self.date_to else "", "user": self.user,
                  "app": self.app_id or "", "action": self.action, "result": self.result}
        return {key: value for key, value in values.items() if value}


def _parse_date(value):
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


# The days a period may name: 0001-01-01 or 9999-12-31 would overflow once shifted to UTC (a 500 before)
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(9999, 12, 30)


def _utc(day):
    """Naive-UTC start of a Japan calendar day (bounded to EARLIEST_DAY … LATEST_DAY + 1)."""
    day = max(day, EARLIEST_DAY)
    return datetime.combine(day, time(0), BUSINESS_TZ).astimezone(timezone.utc).replace(tzinfo=None)


def _period(column, filters, now):
    where = [column >= now - RETENTION]
    if filters.date_from:
        where.append(column >= _utc(filters.date_from))
    if filters.date_to:
        where.append(column < _utc(min(filters.date_to, LATEST_DAY) + timedelta(days=1)))
    return where


def _conditions(model, user_column, exact, tenant, filters, now):
    """Tenant, retention and period, the user as a case-insensitive substring of `user_column`, and
    `exact` ({filter field: column}) for the fields the admin set."""
    where = [model.tenant_id == tenant.id, *_period(model.created_at, filters, now)]
    if filters.user:
        where.append(contains(func.lower(user_column), filters.user.lower()))
    where += [column == getattr(filters, key) for key, column in exact.items() if getattr(filters, key)]
    return where


def _login_conditions(tenant, filters, now):
    return _conditions(LoginEvent, LoginEvent.login_id, {"app_id": LoginEvent.app_id, "result": LoginEvent.result},
                       tenant, filters, now)


def _audit_conditions(tenant, filters, now):
    return _conditions(AuditEvent, AuditEvent.actor_label, {"action": AuditEvent.action}, tenant, filters, now)


def _login_query(tenant, filters, now):
    return (select(LoginEvent, App.name).outerjoin(App, App.id == LoginEvent.app_id)
            .where(*_login_conditions(tenant, filters, now))
            .order_by(LoginEvent.created_at.desc(), LoginEvent.id.desc()))


def _login_values(event, app_name):
    return {"time": event.created_at, "user": event.login_id, "app": app_name or label(LOGIN_TARGETS, event.target),
            "method": label(METHODS, event.protocol), "result": label(RESULTS, event.result),
            "success": event.result == "success", "reason": label(REASONS, event.reason), "ip": event.ip,
            "codes": (event.protocol, event.result, event.reason)}


def login_page(tenant, filters, *, now, page=1, per_page=PER_PAGE):
    return fetch_page(_login_query(tenant, filters, now),
                      select(func.count(LoginEvent.id)).where(*_login_conditions(tenant, filters, now)),
                      page=page, per_page=per_page, values=_login_values)


def _audit_query(tenant, filters, now):
    return (select(AuditEvent).where(*_audit_conditions(tenant, filters, now))
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()))


def _audit_values(event, names):
    return {"time": event.created_at, "admin": actor_text(event), "action": label(ACTIONS, event.action),
            "action_code": event.action, "target": target_text(event),
            "changes": change_lines(event.action, event.changes, names), "recorded": event.changes or {}}


def audit_page(tenant, filters, *, now, page=1, per_page=PER_PAGE):
    names = TenantNames(tenant.id)
    return fetch_page(_audit_query(tenant, filters, now),
                      select(func.count(AuditEvent.id)).where(*_audit_conditions(tenant, filters, now)),
                      page=page, per_page=per_page, values=lambda event: _audit_values(event, names))


def audit_actions(tenant, now):
    """The distinct actions in the retained log as (code, label), by label (choices for the filter)."""
    codes = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.tenant_id == tenant.id, AuditEvent.created_at >= now - RETENTION).distinct()).all()
    return sorted(((code, label(ACTIONS, code)) for code in codes), key=lambda choice: (choice[1], choice[0]))


def _csv(header, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([str(column) for column in header])
    writer.writerows([text_cell(cell) for cell in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def _local(value):
    return value.replace(tzinfo=timezone.utc).astimezone(BUSINESS_TZ).strftime("%Y/%m/%d %H:%M:%S")


def _record_export(tenant, action, filters, count, now, actor, client):
    """Who downloaded which log rows (the download is an admin action too)."""
    record_audit(tenant_id=tenant.id, actor=actor, action=action, target_type="tenant", now=now, client=client,
                 changes={"count": count, "filters": {k: str(v) for k, v in filters.as_args().items()}})


def login_csv(tenant, filters, *, now, actor, client=NO_CLIENT):
    rows = [[_local(v["time"]), v["user"], v["app"], v["method"], v["result"], v["reason"], v["ip"], *v["codes"]]
            for v in (_login_values(e, n) for e, n in db.session.execute(
                _login_query(tenant, filters, now).limit(MAX_EXPORT)))]
    _record_export(tenant, "logs.login_export", filters, len(rows), now, actor, client)
    return _csv(LOGIN_COLUMNS, rows)


def audit_csv(tenant, filters, *, now, actor, client=NO_CLIENT):
    names = TenantNames(tenant.id)
    rows = [[_local(v["time"]), v["admin"], v["action"], v["target"],
             "\n".join(f"{field}: {text}" for field, text in v["changes"]), v["action_code"],
             json.dumps(v["recorded"], ensure_ascii=False, default=str) if v["recorded"] else ""]
            for v in (_audit_values(e, names) for e in db.session.scalars(
                _audit_query(tenant, filters, now).limit(MAX_EXPORT)))]
    _record_export(tenant, "logs.audit_export", filters, len(rows), now, actor, client)
    return _csv(AUDIT_COLUMNS, rows)


def purge(now):
    """Delete login and audit events older than the retention period (all tenants); returns counts."""
    cutoff = now - RETENTION
    logins = db.session.execute(delete(LoginEvent).where(LoginEvent.created_at < cutoff)).rowcount
    audits = db.session.execute(delete(AuditEvent).where(AuditEvent.created_at < cutoff)).rowcount
    return {"login_events": logins, "audit_events": audits}
