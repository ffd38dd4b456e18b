"""Operator CLI: `idp` (a Flask CLI group). Every command has `--json`.

With --json, stdout carries exactly one JSON object; logs go to stderr. Bad
input prints one error line and exits non-zero, and nothing is half-created:
each command runs in one transaction.
"""
import json
import logging
import secrets
import sys
from functools import wraps

import click
from flask.cli import AppGroup, FlaskGroup
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError, OperationalError

from . import accounts, groups, lockout, tenants
from .audit import OPERATOR
from .clock import current_time
from .errors import ServiceError
from .extensions import db
from .urls import external_url

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")


class Output:
    """What a command prints; a transactional command prints it only once its commit succeeded."""

    def __init__(self, as_json, data, text):
        self.as_json, self.data, self.text = as_json, data, text

    def echo(self):
        click.echo(json.dumps(self.data, ensure_ascii=False, default=str) if self.as_json else self.text)


def transactional(command):
    """Commit, then print; on any error roll back and exit with one clear line, nothing printed to stdout."""
    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            output = command(*args, **kwargs)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            raise click.ClickException(_service_message(exc))
        except IntegrityError as exc:
            db.session.rollback()
            logging.getLogger(__name__).debug("integrity error: %s", exc)
            raise click.ClickException("conflicts with existing data (duplicate email, slug or name)")
        except OperationalError as exc:
            db.session.rollback()
            logging.getLogger(__name__).debug("database error: %s", exc)
            raise click.ClickException("the database is unavailable or busy; nothing was changed, try again")
        output.echo()
    return wrapper


def _service_message(exc):
    errors = getattr(exc, "errors", None)
    if errors:
        return "; ".join(f"{field}: {' '.join(str(m) for m in msgs)}" for field, msgs in errors.items())
    return str(exc.message)


def emit(as_json, data, text):
    Output(as_json, data, text).echo()


def find_tenant(slug):
    """The tenant of a read-only command (no transaction to roll back): an unknown slug exits with one line."""
    try:
        return tenants.get_by_slug(slug)
    except ServiceError as exc:
        raise click.ClickException(_service_message(exc))


def account_command(group, name):
    """A transactional command `<group> <name> --tenant SLUG EMAIL [--json]` on one account of a tenant.

    The decorated function takes (account, as_json) and returns an Output; its docstring is the help.
    """
    def decorate(action):
        @group.command(name)
        @click.option("--tenant", "slug", required=True)
        @click.argument("email")
        @json_option
        @transactional
        @wraps(action)
        def command(slug, email, as_json):
            return action(accounts.get_in_tenant(tenants.get_by_slug(slug), email), as_json)
        return command
    return decorate


tenant_cli = AppGroup("tenant", help="Create and list tenants.")
account_cli = AppGroup("account", help="Create and list accounts.")
group_cli = AppGroup("group", help="Create groups.")
app_cli = AppGroup("app", help="Register apps (OIDC clients, SAML service providers).")
mfa_cli = AppGroup("mfa", help="Multi-factor authentication policy.")


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
    created = accounts.create_account(tenant, email=email, name=name, role=role, group=group,
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


@click.command("demo")
@json_option
@with_appcontext
@transactional
def demo(as_json):
    """Create the demo tenant if missing and give its admin and user fresh passwords (for `make run`)."""
    from .demo import ensure_demo
    data = ensure_demo(now=current_time(), new_password=_demo_password)
    lines = [f"Log in at {external_url('/login')}"] + [
        f"  {who}: {cred['email']} / {cred['password']}" for who, cred in data["credentials"].items()]
    return Output(as_json, data, "\n".join(lines))


def _demo_password():
    return f"Demo-{secrets.token_hex(3)}-{secrets.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}{secrets.randbelow(10)}x"


def init_app(app):
    from . import cli_mfa, cli_oidc, cli_saml, cli_tenant_lifecycle  # noqa: F401  (add their commands)
    for group in (tenant_cli, account_cli, group_cli, app_cli, mfa_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo)
    from .cli_logs import logs_cli
    app.cli.add_command(logs_cli)


def _create_app():
    from . import create_app
    return create_app({"IDP_MAIL_ASYNC": False})  # a short-lived process: send before exiting


def main():
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    cli = FlaskGroup(create_app=_create_app, add_version_option=False, load_dotenv=False,
                     help="Operator commands of the identity provider.")
    cli.main(prog_name="idp")
