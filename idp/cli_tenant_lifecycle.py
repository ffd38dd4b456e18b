"""Operator commands: `idp tenant purge|restore` (commands on idp.cli.tenant_cli).

  idp tenant purge [--json]          delete tenants terminated longer ago than IDP_TENANT_RETENTION_DAYS
  idp tenant restore SLUG [--json]   reactivate a terminated tenant that is not yet purged
"""
import click
from flask import current_app

from . import tenant_lifecycle, tenants
from .audit import OPERATOR
from .cli import Output, json_option, tenant_cli, transactional
from .clock import current_time


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
