"""Operator commands: `idp app add-oidc` (commands on idp.cli.app_cli)."""
import click

from . import groups, oidc_clients, tenants
from .audit import OPERATOR
from .cli import Output, app_cli, json_option, transactional
from .clock import current_time


@app_cli.command("add-oidc")
@click.option("--tenant", "slug", required=True)
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True)
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True)
@click.option("--backchannel-logout-uri", default="")
@click.option("--public", is_flag=True, help="A public client (SPA, native app): no secret, PKCE required.")
@click.option("--initiate-login-uri", default="", help="Where the portal tile starts a login (third-party "
              "initiated login).")
@click.option("--group", "group_names", multiple=True, help="Group allowed to use the app (repeatable).")
@click.option("--id-token-alg", type=click.Choice(oidc_clients.ID_TOKEN_ALGS), default="RS256", show_default=True)
@click.option("--access-token-format", type=click.Choice(oidc_clients.ACCESS_TOKEN_FORMATS), default="opaque",
              show_default=True)
@click.option("--no-refresh", is_flag=True, help="Never issue refresh tokens to this app.")
@click.option("--jwks", default="", help="The client's public JWK Set (JSON) for private_key_jwt; "
              "@FILE reads it from a file.")
@json_option
@transactional
def add_oidc(slug, name, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri, public,
             initiate_login_uri, group_names, id_token_alg, access_token_format, no_refresh, jwks, as_json):
    """Register an OpenID Connect client; prints app_id, client_id and (confidential apps) client_secret."""
    tenant = tenants.get_by_slug(slug)
    chosen = [groups.get_by_name(tenant, group_name) for group_name in group_names]
    if jwks.startswith("@"):
        with open(jwks[1:]) as fh:
            jwks = fh.read()
    created = oidc_clients.register(
        tenant, name=name, redirect_uris=redirect_uris, post_logout_redirect_uris=post_logout_redirect_uris,
        backchannel_logout_uri=backchannel_logout_uri, public=public, initiate_login_uri=initiate_login_uri,
        groups=chosen, id_token_alg=id_token_alg, access_token_format=access_token_format,
        allow_refresh=not no_refresh, jwks=jwks, now=current_time(), actor=OPERATOR)
    data = created.as_json()
    text = f"registered OIDC app {created.app.name} (app id {data['app_id']})\nclient_id: {data['client_id']}"
    if data["client_secret"]:
        text += f"\nclient_secret (shown once): {data['client_secret']}"
    return Output(as_json, data, text)
