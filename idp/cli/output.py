"""What every command shares: `--json`, one transaction per command, one clear error line."""
import json
import logging
from functools import wraps

import click
from sqlalchemy.exc import IntegrityError, OperationalError

from idp.directory import accounts
from idp.platform.errors import ServiceError
from idp.platform.extensions import db
from idp.tenancy import tenants

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
            logging.getLogger(__name__).debug("integrity error: %s", exc.orig)  # no SQL parameters
            raise click.ClickException("conflicts with existing data (duplicate email, slug or name)")
        except OperationalError as exc:
            db.session.rollback()
            logging.getLogger(__name__).debug("database error: %s", exc.orig)
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
