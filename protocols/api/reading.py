"""Read-only resources: /apps (the console's app list and detail, no secrets) and /logs/logins,
/logs/audit (the console's log views: the same filters, retention and paging, idp.logs.views)."""
from spectree import Response

from idp.console import app_pages
from idp.console import apps as console_apps
from idp.logs import views as log_views
from idp.platform.clock import current_time
from protocols.api.blueprint import bp, spec, tenant
from protocols.api.schemas import (App, AppList, AppSummary, AuditEntry, AuditLog, AuditLogQuery, ChangeLine,
                                   GroupRef, LoginEntry, LoginLog, LoginLogQuery, OidcSettings, SamlSettings, utc)

OIDC_KEYS = ("client_id", "public", "redirect_uris", "post_logout_redirect_uris", "backchannel_logout_uri",
             "id_token_alg", "access_token_format", "allow_refresh")
SAML_KEYS = ("entity_id", "slo_url", "nameid_format", "metadata_url")


@bp.get("/apps", endpoint="apps")
@spec.validate(resp=Response(HTTP_200=AppList), tags=("apps",))
def list_apps():
    """List the apps, by name"""
    rows = app_pages.list_rows(tenant())
    return AppList(items=[AppSummary(**{key: row[key] for key in AppSummary.model_fields}) for row in rows])


@bp.get("/apps/<int:app_id>", endpoint="app")
@spec.validate(resp=Response(HTTP_200=App), tags=("apps",))
def get_app(app_id):
    """Get an app

    Its settings as the console's detail page shows them; never a secret."""
    app = console_apps.get_app(tenant(), app_id)
    values = app_pages.detail_values(tenant(), app)
    body = App(id=app.id, name=app.name, protocol=app.protocol, launch_url=app.launch_url, preset=app.preset,
               groups=[GroupRef(**group) for group in values["groups"]], created_at=utc(app.created_at),
               updated_at=utc(app.updated_at))
    if "oidc" in values:
        body.oidc = OidcSettings(**{key: values["oidc"][key] for key in OIDC_KEYS},
                                 api_client=console_apps.oidc_client_of(app).api_client)
    if "saml" in values:
        body.saml = SamlSettings(**{key: values["saml"][key] for key in SAML_KEYS},
                                 acs_urls=[entry["url"] for entry in values["saml"]["acs"]])
    return body


def _filter(query):
    return log_views.LogFilter.from_args({
        "from": query.date_from.isoformat() if query.date_from else "",
        "to": query.date_to.isoformat() if query.date_to else "", "user": query.user,
        "app": str(getattr(query, "app", None) or ""), "action": getattr(query, "action", ""),
        "result": getattr(query, "result", None) or ""})


def _login_entry(row):
    method, result, reason = row["codes"]
    return LoginEntry(time=utc(row["time"]), user=row["user"], app=str(row["app"]), method=str(row["method"]),
                      method_code=method, result=str(row["result"]), result_code=result, reason=str(row["reason"]),
                      reason_code=reason or "", ip=row["ip"])


@bp.get("/logs/logins", endpoint="login_log")
@spec.validate(resp=Response(HTTP_200=LoginLog), tags=("logs",))
def login_log(query: LoginLogQuery):
    """Read the login log

    Logins to the portal and the apps, newest first, for the last 730 days."""
    page = log_views.login_page(tenant(), _filter(query), now=current_time(), page=query.page,
                                per_page=query.per_page)
    return LoginLog(items=[_login_entry(row) for row in page.rows], total=page.total, page=page.page,
                    per_page=page.per_page, pages=page.pages)


def _audit_entry(row):
    return AuditEntry(time=utc(row["time"]), actor=str(row["admin"]), action=str(row["action"]),
                      action_code=row["action_code"], target=str(row["target"]),
                      changes=[ChangeLine(field=str(field), text=str(text)) for field, text in row["changes"]],
                      recorded=row["recorded"] if isinstance(row["recorded"], dict) else {})


@bp.get("/logs/audit", endpoint="audit_log")
@spec.validate(resp=Response(HTTP_200=AuditLog), tags=("logs",))
def audit_log(query: AuditLogQuery):
    """Read the admin log

    What admins, operators and API clients changed, newest first, for the last 730 days."""
    page = log_views.audit_page(tenant(), _filter(query), now=current_time(), page=query.page,
                                per_page=query.per_page)
    return AuditLog(items=[_audit_entry(row) for row in page.rows], total=page.total, page=page.page,
                    per_page=page.per_page, pages=page.pages)
