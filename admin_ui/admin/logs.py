"""Logs: app logins and admin operations, filtered and paginated, with CSV download of the filter;
the tenant's mail and SMS that could not be delivered."""
from flask import Response, g, render_template, request
from flask_babel import lazy_gettext as _l

from admin_ui.admin import bp
from admin_ui.admin.access import admin_required, audit_context
from admin_ui.admin.listing import render_search
from idp.console.groups import app_choices
from idp.logs import views as log_views
from idp.platform import outbox
from idp.platform.clock import current_time
from idp.platform.extensions import db

DELIVERY_FAILURES_SHOWN = 100
_KIND_LABELS = {outbox.MAIL: _l("メール"), outbox.SMS: _l("SMS")}
_REASON_LABELS = {outbox.UNREACHABLE: _l("メールサーバーまたはSMS事業者に接続できませんでした"),
                  outbox.REFUSED: _l("メールサーバーが受け付けませんでした（宛先の誤りなど）"),
                  outbox.OTHER: _l("送信に失敗しました")}
_STATUS_LABELS = {outbox.FAILED: _l("送信失敗"), outbox.PENDING: _l("再送予定"), outbox.SENDING: _l("再送予定")}


def _csv(export, filename):
    """The CSV of the filter in the query string (`export` is log_views.login_csv or audit_csv)."""
    actor, client = audit_context()
    data = export(g.tenant, log_views.LogFilter.from_args(request.args), now=current_time(), actor=actor,
                  client=client)
    db.session.commit()  # the audit event of the download
    return Response(data, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/logs/logins")
@admin_required
def login_logs():
    return render_search("admin/logs/logins.html", log_views.LogFilter, log_views.login_page, current_time(),
                         apps=app_choices(g.tenant))


@bp.route("/logs/logins.csv")
@admin_required
def login_logs_csv():
    return _csv(log_views.login_csv, "login_log.csv")


@bp.route("/logs/operations")
@admin_required
def audit_logs():
    now = current_time()
    return render_search("admin/logs/operations.html", log_views.LogFilter, log_views.audit_page, now,
                         actions=log_views.audit_actions(g.tenant, now))


@bp.route("/logs/operations.csv")
@admin_required
def audit_logs_csv():
    return _csv(log_views.audit_csv, "operation_log.csv")


@bp.route("/logs/mail")
@admin_required
def mail_failures():
    """The tenant's messages that failed (given up, or waiting for a retry after an error), newest first."""
    rows = [{"time": row.created_at, "kind": _KIND_LABELS.get(row.kind, row.kind), "recipient": row.recipient,
             "status": _STATUS_LABELS.get(row.status, row.status), "attempts": row.attempts,
             "error": _REASON_LABELS[outbox.failure_reason(row.last_error)]}
            for row in outbox.failures(g.tenant.id, limit=DELIVERY_FAILURES_SHOWN)]
    return render_template("admin/logs/mail_failures.html", rows=rows, limit=DELIVERY_FAILURES_SHOWN)
