"""Logs: app logins and admin operations, filtered and paginated, with CSV download of the filter."""
from flask import Response, g, request
from flask_babel import gettext as _

from admin_ui.admin import bp
from admin_ui.admin.access import admin_required, audit_context
from admin_ui.admin.listing import render_search
from idp.console.groups import app_choices
from idp.logs import views as log_views
from idp.platform.clock import current_time
from idp.platform.extensions import db


def _csv(data, filename):
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
    filters = log_views.LogFilter.from_args(request.args)
    header = [_("日時"), _("ユーザー"), _("サービス"), _("プロトコル"), _("結果"), _("理由"), _("IPアドレス")]
    actor, client = audit_context()
    data = log_views.login_csv(g.tenant, filters, now=current_time(), header=header, actor=actor, client=client)
    return _csv(data, "login_log.csv")


@bp.route("/logs/operations")
@admin_required
def audit_logs():
    now = current_time()
    return render_search("admin/logs/operations.html", log_views.LogFilter, log_views.audit_page, now,
                         actions=[(a, a) for a in log_views.audit_actions(g.tenant, now)])


@bp.route("/logs/operations.csv")
@admin_required
def audit_logs_csv():
    filters = log_views.LogFilter.from_args(request.args)
    header = [_("日時"), _("管理者"), _("操作"), _("対象"), _("変更内容")]
    actor, client = audit_context()
    data = log_views.audit_csv(g.tenant, filters, now=current_time(), header=header, actor=actor, client=client)
    return _csv(data, "operation_log.csv")
