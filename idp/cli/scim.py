"""`idp scim token create|list|revoke`: the bearer tokens of a tenant's SCIM endpoint (docs/provisioning.md)."""
import click
from flask.cli import AppGroup

from idp.cli.output import Output, emit, find_tenant, json_option, transactional
from idp.logs.audit import OPERATOR
from idp.models.scim import SCOPES
from idp.platform.clock import current_time
from idp.platform.urls import issuer_for
from idp.provisioning import scim_tokens
from idp.tenancy import tenants

scim_cli = AppGroup("scim", help="SCIM 2.0: the bearer tokens of a tenant's SCIM endpoint (docs/provisioning.md).")
token_cli = AppGroup("token", help="Create, list and revoke SCIM bearer tokens.")
scim_cli.add_command(token_cli)


def scim_url(slug):
    return f"{issuer_for(slug)}/scim/v2"


def _values(token, now):
    return {"id": token.id, "name": token.name, "scope": token.scope, "created_at": token.created_at,
            "created_by": token.created_by, "expires_at": token.expires_at, "last_used_at": token.last_used_at,
            "revoked_at": token.revoked_at, "usable": scim_tokens.is_usable(token, now)}


@token_cli.command("create")
@click.option("--tenant", "slug", required=True)
@click.option("--name", required=True)
@click.option("--scope", type=click.Choice(SCOPES), default="write", show_default=True)
@click.option("--expires-days", type=click.IntRange(1, scim_tokens.MAX_EXPIRY_DAYS), default=None,
              help="Days until the token expires (default: never).")
@json_option
@transactional
def token_create(slug, name, scope, expires_days, as_json):
    """Create a token; it is printed once and stored only as a keyed digest."""
    tenant = tenants.get_by_slug(slug)
    token, raw = scim_tokens.create_token(tenant, name=name, scope=scope, expires_days=expires_days,
                                          now=current_time(), actor=OPERATOR)
    url = scim_url(tenant.slug)
    return Output(as_json, {"token": raw, "url": url, "id": token.id, "scope": token.scope,
                            "expires_at": token.expires_at},
                  f"token (shown once): {raw}\nSCIM base URL: {url}")


@token_cli.command("list")
@click.option("--tenant", "slug", required=True)
@json_option
def token_list(slug, as_json):
    """The tenant's tokens (never their values)."""
    tenant = find_tenant(slug)
    now = current_time()
    rows = [_values(token, now) for token in scim_tokens.list_tokens(tenant)]
    text = "\n".join(f"{r['id']}\t{r['name']}\t{r['scope']}\t{'usable' if r['usable'] else 'revoked/expired'}"
                     f"\tlast used {r['last_used_at'] or '-'}" for r in rows) or "no tokens"
    emit(as_json, {"tenant": tenant.slug, "url": scim_url(tenant.slug), "tokens": rows}, text)


@token_cli.command("revoke")
@click.option("--tenant", "slug", required=True)
@click.argument("token_id", type=int)
@json_option
@transactional
def token_revoke(slug, token_id, as_json):
    """Revoke a token by its id (`idp scim token list`); requests with it are refused at once."""
    tenant = tenants.get_by_slug(slug)
    token = scim_tokens.revoke_token(tenant, token_id, now=current_time(), actor=OPERATOR)
    return Output(as_json, {"id": token.id, "name": token.name, "revoked_at": token.revoked_at},
                  f"revoked token {token.id} ({token.name})")
