"""`idp account create|list|unlock`."""
import click
from flask.cli import AppGroup

from idp.authn import lockout
from idp.cli.output import Output, account_command, emit, find_tenant, json_option, transactional
from idp.directory import accounts, groups
from idp.logs.audit import OPERATOR
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.tenancy import tenants

account_cli = AppGroup("account", help="Create and list accounts.")


@account_cli.command("create")
@click.option("--tenant", "slug", required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["user", "admin"]), default="user", show_default=True)
@click.option("--group", "group_name", default=None, help="Group name (default: the tenant's default group).")
@click.option("--password", default=None, envvar="IDP_ACCOUNT_PASSWORD",
              help="Activate at once with this password (also read from IDP_ACCOUNT_PASSWORD).")
@json_option
@transactional
def account_create(slug, email, name, role, group_name, password, as_json):
    tenant = tenants.get_by_slug(slug)
    group = groups.get_by_name(tenant, group_name) if group_name else None
    created = accounts.create_account(
        tenant, accounts.NewAccount(email=email, name=name, role=role, group=group),
        password=password, now=current_time(), actor=OPERATOR)
    db.session.flush()
    data = {"id": created.account.id, "email": created.account.email, "activation_url": created.activation_url}
    text = f"created account {data['email']} (id {data['id']})"
    if data["activation_url"]:
        text += f"\nfirst-login link (24 h): {data['activation_url']}"
    return Output(as_json, data, text)


@account_cli.command("list")
@click.option("--tenant", "slug", required=True)
@json_option
def account_list(slug, as_json):
    now = current_time()
    tenant = find_tenant(slug)
    rows = [{"id": a.id, "email": a.email, "name": a.name, "role": a.role, "group": a.group.name,
             "status": a.status, "activated": a.activated,
             "locked_at": a.locked_at.isoformat() if lockout.is_locked(a, now) else None}
            for a in accounts.list_accounts(tenant)]
    emit(as_json, {"accounts": rows},
         "\n".join(f"{r['email']}\t{r['role']}\t{r['status']}\t{r['group']}"
                   + (f"\tlocked since {r['locked_at']}" if r["locked_at"] else "") for r in rows) or "(no accounts)")


@account_command(account_cli, "unlock")
def account_unlock(account, as_json):
    """Lift a lockout before its 30 minutes are up."""
    lockout.unlock(account, now=current_time(), actor=OPERATOR)
    return Output(as_json, {"id": account.id, "email": account.email, "locked": False}, f"unlocked {account.email}")
