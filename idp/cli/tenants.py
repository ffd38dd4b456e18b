"""`idp tenant create|list|purge|restore`.

  idp tenant purge [--json]          delete tenants terminated longer ago than IDP_TENANT_RETENTION_DAYS
  idp tenant restore SLUG [--json]   reactivate a terminated tenant that is not yet purged
"""
import click
from flask import current_app
from flask.cli import AppGroup

from idp.cli.output import Output, emit, json_option, transactional
from idp.logs.audit import OPERATOR
from idp.platform.clock import current_time
from idp.tenancy import lifecycle as tenant_lifecycle
from idp.tenancy import tenants

tenant_cli = AppGroup("tenant", help="Create and list tenants.")


@tenant_cli.command("create")
@click.argument("slug")
@click.option("--company", required=True, help="Company name (also the default group's name).")
@click.option("--owner-email", required=True)
@click.option("--admin-email", required=True)
@click.option("--owner-name", default="")
@click.option("--admin-name", default=None)
@json_option
@transactional
def tenant_create(slug, company, owner_email, admin_email, owner_name, admin_name, as_json):
    created = tenants.create_tenant(slug=slug, company_name=company, owner_email=owner_email,
                                    admin_email=admin_email, owner_name=owner_name, admin_name=admin_name,
                                    now=current_time(), actor=OPERATOR)
    data = created.as_json()
    text = f"created tenant {data['slug']}\nissuer: {data['issuer']}"
    if data["activation_url"]:
        text += f"\nadmin first-login link (24 h): {data['activation_url']}"
    return Output(as_json, data, text)


@tenant_cli.command("list")
@json_option
def tenant_list(as_json):
    rows = [{"slug": t.slug, "company": t.company_name, "status": t.status,
             "created_at": t.created_at.isoformat()} for t in tenants.list_tenants()]
    emit(as_json, {"tenants": rows},
         "\n".join(f"{r['slug']}\t{r['status']}\t{r['company']}" for r in rows) or "(no tenants)")


@tenant_cli.command("purge")
@json_option
@transactional
def tenant_purge(as_json):
    """Delete every tenant whose retention period after termination has passed."""
    retention = tenant_lifecycle.retention_period(current_app.config["IDP_TENANT_RETENTION_DAYS"])
    slugs = tenant_lifecycle.purge(now=current_time(), retention=retention)
    return Output(as_json, {"purged": slugs},
                  "\n".join(f"purged {slug}" for slug in slugs) or "nothing to purge")


@tenant_cli.command("restore")
@click.argument("slug")
@json_option
@transactional
def tenant_restore(slug, as_json):
    """Reactivate a terminated tenant before it is purged."""
    tenant = tenant_lifecycle.restore(tenants.get_by_slug(slug), now=current_time(), actor=OPERATOR)
    return Output(as_json, {"slug": tenant.slug, "status": tenant.status}, f"restored {tenant.slug}")
