"""`idp keys list|rotate --tenant SLUG`."""
import click
from flask.cli import AppGroup

from idp.cli.output import Output, json_option, transactional
from idp.console.security import rotate_keys
from idp.keys.store import key_states
from idp.logs.audit import OPERATOR
from idp.platform.clock import current_time
from idp.tenancy import tenants

keys_cli = AppGroup("keys", help="List and rotate a tenant's signing keys.")


def _rows(states):
    return [{**s, **{k: s[k].isoformat() if s[k] else None for k in ("created_at", "activates_at", "retired_at")}}
            for s in states]


@keys_cli.command("list")
@click.option("--tenant", "slug", required=True)
@json_option
@transactional
def keys_list(slug, as_json):
    rows = _rows(key_states(tenants.get_by_slug(slug).id, current_time()))
    return Output(as_json, {"keys": rows},
                  "\n".join(f"{r['kid']}\t{r['alg']}\t{r['state']}\tfrom {r['activates_at']}" for r in rows))


@keys_cli.command("rotate")
@click.option("--tenant", "slug", required=True)
@click.option("--prepublish-seconds", type=click.IntRange(min=0), default=None,
              help="Publish the new keys this long before they sign (default IDP_KEY_PREPUBLISH_SECONDS).")
@json_option
@transactional
def keys_rotate(slug, prepublish_seconds, as_json):
    """Create new RS256 and ES256 keys; they are published now and sign after the delay."""
    rows = rotate_keys(tenants.get_by_slug(slug), now=current_time(), actor=OPERATOR, prepublish=prepublish_seconds)
    data = {"keys": [{"kid": r.kid, "alg": r.alg, "activates_at": r.activates_at.isoformat()} for r in rows]}
    return Output(as_json, data, "\n".join(f"new {r['alg']} key {r['kid']} signs from {r['activates_at']} UTC"
                                           for r in data["keys"]))
