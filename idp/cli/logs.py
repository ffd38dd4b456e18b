"""Operator command: `idp logs purge` deletes login and audit events older than 730 days."""
from flask.cli import AppGroup

from idp.cli.output import Output, json_option, transactional
from idp.logs import views as log_views
from idp.platform.clock import current_time

logs_cli = AppGroup("logs", help="Login and audit logs.")


@logs_cli.command("purge")
@json_option
@transactional
def logs_purge(as_json):
    """Delete login and audit events older than the retention period (730 days)."""
    counts = log_views.purge(current_time())
    return Output(as_json, counts, f"deleted {counts['login_events']} login events, "
                                   f"{counts['audit_events']} audit events")
