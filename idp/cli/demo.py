"""`idp demo`: the demo tenant that `make run` serves."""
import secrets

import click
from flask.cli import with_appcontext

from idp.cli.output import Output, json_option, transactional
from idp.platform.clock import current_time
from idp.platform.urls import external_url


@click.command("demo")
@json_option
@with_appcontext
@transactional
def demo(as_json):
    """Create the demo tenant if missing and give its admin and user fresh passwords (for `make run`)."""
    from idp.tenancy.demo import ensure_demo
    data = ensure_demo(now=current_time(), new_password=_demo_password)
    lines = [f"Log in at {external_url('/login')}"] + [
        f"  {who}: {cred['email']} / {cred['password']}" for who, cred in data["credentials"].items()]
    return Output(as_json, data, "\n".join(lines))


def _demo_password():
    return f"Demo-{secrets.token_hex(3)}-{secrets.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}{secrets.randbelow(10)}x"
