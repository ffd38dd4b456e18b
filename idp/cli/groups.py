"""`idp group create`."""
import click
from flask.cli import AppGroup

from idp.cli.output import Output, json_option, transactional
from idp.directory import groups
from idp.logs.audit import OPERATOR
from idp.platform.clock import current_time
from idp.tenancy import tenants

group_cli = AppGroup("group", help="Create groups.")


@group_cli.command("create")
@click.option("--tenant", "slug", required=True)
@click.argument("name")
@click.option("--description", default="")
@json_option
@transactional
def group_create(slug, name, description, as_json):
    tenant = tenants.get_by_slug(slug)
    group = groups.create_group(tenant, name, description=description, now=current_time(), actor=OPERATOR)
    return Output(as_json, {"id": group.id, "name": group.name}, f"created group {group.name} (id {group.id})")
