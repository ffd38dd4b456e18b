"""`idp provisioning …`: pushing account changes to apps over SCIM (docs/provisioning.md).

`deliver` sends every queued change that is due once (cron; each serving process also sweeps every 30 s);
`status --tenant SLUG [--app ID]` shows per app the settings, what waits, what failed and the apps' errors;
`sync --tenant SLUG --app ID` reconciles the app now (match, create, update, deactivate or delete);
`purge` deletes sent and given-up changes older than 30 days (daily, with `idp mail purge`).
"""
import click
from flask.cli import AppGroup
from sqlalchemy import select

from idp.cli.output import Output, emit, find_tenant, json_option, transactional
from idp.models import App
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.provisioning import queue, reconcile, settings

provisioning_cli = AppGroup("provisioning", help="Pushing account changes to apps over SCIM (docs/provisioning.md).")


@provisioning_cli.command("deliver")
@json_option
def provisioning_deliver(as_json):
    """Send every queued change that is due now (each at most once, also with other instances running)."""
    counts = queue.deliver_due(current_time())
    emit(as_json, counts, f"sent {counts['sent']}, to retry {counts['retrying']}, given up {counts['failed']}")


@provisioning_cli.command("purge")
@json_option
@transactional
def provisioning_purge(as_json):
    """Delete sent and given-up changes older than 30 days (waiting ones stay)."""
    deleted = queue.purge(current_time())
    return Output(as_json, {"deleted": deleted}, f"deleted {deleted} sent or given-up changes")


def _apps(tenant, app_id=None):
    query = select(App).where(App.tenant_id == tenant.id).order_by(App.id)
    if app_id is not None:
        query = query.where(App.id == app_id)
    found = db.session.scalars(query).all()
    if app_id is not None and not found:
        raise click.ClickException(f"no app {app_id} in tenant {tenant.slug}")
    return found


def _app_status(app):
    values = settings.status(app)
    return {"app_id": app.id, "name": app.name, "enabled": values["enabled"], "base_url": values["base_url"],
            "token_set": values["token_set"], "deprovision": values["deprovision"],
            "last_sync_at": values["last_sync_at"].isoformat() if values["last_sync_at"] else None,
            "last_error": values["last_error"], "pending": values["pending"], "failed": values["failed"],
            "failures": [{"account": f["account"], "operation": f["operation"], "state": f["state"],
                          "attempts": f["attempts"], "created_at": f["created_at"].isoformat(), "error": f["error"]}
                         for f in values["failures"]]}


@provisioning_cli.command("status")
@click.option("--tenant", "slug", required=True)
@click.option("--app", "app_id", type=int)
@json_option
def provisioning_status(slug, app_id, as_json):
    """Per app with a SCIM target: enabled, last sync, pending and failed changes with the app's errors."""
    tenant = find_tenant(slug)
    apps = [_app_status(app) for app in _apps(tenant, app_id) if app_id is not None or settings.target_of(app)]
    lines = [f"#{a['app_id']} {a['name']}: {'on' if a['enabled'] else 'off'}, pending {a['pending']}, "
             f"failed {a['failed']}, last sync {a['last_sync_at'] or '-'}"
             + (f", last error: {a['last_error']}" if a["last_error"] else "") for a in apps]
    emit(as_json, {"tenant": tenant.slug, "apps": apps}, "\n".join(lines) or "no app pushes over SCIM")


@provisioning_cli.command("sync")
@click.option("--tenant", "slug", required=True)
@click.option("--app", "app_id", type=int, required=True)
@json_option
@transactional
def provisioning_sync(slug, app_id, as_json):
    """Reconcile the app's SCIM users with who may use the app now (create, update, deactivate or delete)."""
    tenant = find_tenant(slug)
    app = _apps(tenant, app_id)[0]
    target = settings.target_of(app)
    if target is None or not target.enabled:
        raise click.ClickException(f"app {app_id} does not push over SCIM (set it up on the app's page)")
    now = current_time()
    try:
        counts = reconcile.run(queue.client_for(target), target, now)
    except Exception as exc:  # the app's server is down or refused: say so, exit non-zero
        target.last_error = queue.error_text(exc)
        db.session.commit()
        raise click.ClickException(f"the app's SCIM server: {target.last_error}")
    target.last_sync_at, target.last_error = now, None
    return Output(as_json, {"app_id": app.id, **counts},
                  ", ".join(f"{key} {value}" for key, value in counts.items()))
