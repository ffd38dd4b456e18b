"""`idp app add-oidc|add-saml`: register an OIDC client or a SAML service provider;
`idp app refresh-metadata`: re-read a SAML SP's metadata from the URL it was registered with."""
import click
from flask.cli import AppGroup

from idp.cli.output import Output, json_option, transactional
from idp.directory import groups
from idp.logs.audit import OPERATOR
from idp.oidc import clients as oidc_clients
from idp.platform.clock import current_time
from idp.saml import metadata_fetch
from idp.saml import registry as saml_registry
from idp.saml.metadata_import import MAX_METADATA_BYTES, encryption_algorithm_of, parse_sp_metadata
from idp.tenancy import tenants

app_cli = AppGroup("app", help="Register apps (OIDC clients, SAML service providers).")


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
@click.option("--require-dpop", is_flag=True, help="Refuse token requests without a DPoP proof (RFC 9449): "
              "every token of the app is bound to the client's key.")
@click.option("--require-par", is_flag=True, help="Refuse authorization requests that were not pushed first "
              "(RFC 9126 pushed authorization requests, POST {issuer}/oidc/par).")
@click.option("--api-client", is_flag=True, help="An API client of the admin REST API: may get the scopes "
              "admin:read / admin:write by client_credentials (docs/api.md).")
@json_option
@transactional
def add_oidc(slug, name, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri, public,
             initiate_login_uri, group_names, id_token_alg, access_token_format, no_refresh, jwks, require_dpop,
             require_par, api_client, as_json):
    """Register an OpenID Connect client; prints app_id, client_id and (confidential apps) client_secret."""
    tenant = tenants.get_by_slug(slug)
    chosen = [groups.get_by_name(tenant, group_name) for group_name in group_names]
    if jwks.startswith("@"):
        with open(jwks[1:]) as fh:
            jwks = fh.read()
    created = oidc_clients.register(
        tenant, oidc_clients.ClientSettings(
            name=name, redirect_uris=redirect_uris, post_logout_redirect_uris=post_logout_redirect_uris,
            backchannel_logout_uri=backchannel_logout_uri, public=public, initiate_login_uri=initiate_login_uri,
            id_token_alg=id_token_alg, access_token_format=access_token_format, allow_refresh=not no_refresh,
            jwks=jwks, require_dpop=require_dpop, require_par=require_par, api_client=api_client),
        groups=chosen, now=current_time(), actor=OPERATOR)
    data = created.as_json()
    text = f"registered OIDC app {created.app.name} (app id {data['app_id']})\nclient_id: {data['client_id']}"
    if data["client_secret"]:
        text += f"\nclient_secret (shown once): {data['client_secret']}"
    return Output(as_json, data, text)


def _read(path):
    with open(path, "rb") as fh:
        return fh.read(MAX_METADATA_BYTES + 1)


@app_cli.command("add-saml")
@click.option("--tenant", "slug", required=True)
@click.option("--name", required=True)
@click.option("--metadata", "metadata_file", type=click.Path(exists=True, dir_okay=False),
              help="The SP's SAML metadata file (entity ID, ACS, SLO, certificates).")
@click.option("--metadata-url", default="", help="Where the SP publishes its SAML metadata: read now (https; "
              "public addresses only) like --metadata, and kept for `idp app refresh-metadata`.")
@click.option("--entity-id", default="")
@click.option("--acs-url", "acs_urls", multiple=True, help="Assertion Consumer Service URL (repeatable; the first "
              "is the default).")
@click.option("--slo-url", default="")
@click.option("--slo-binding", type=click.Choice(saml_registry.SLO_BINDINGS), default=None,
              help="How logout messages reach the SLO URL. Default: what the metadata offers (HTTP-Redirect "
              "first), else redirect.")
@click.option("--cert", "cert_file", type=click.Path(exists=True, dir_okay=False),
              help="The SP's signing certificate (PEM): verifies its requests.")
@click.option("--encryption-cert", "encryption_cert_file", type=click.Path(exists=True, dir_okay=False),
              help="The SP's encryption certificate (PEM): assertions are then encrypted.")
@click.option("--encryption", "encryption_algorithm", type=click.Choice(saml_registry.ENCRYPTION_ALGORITHMS),
              default=None, help="Content encryption of the assertion (RSA-OAEP key transport); aes256-cbc for SPs "
              "that do not accept GCM. Default: what the metadata's EncryptionMethod lists, else aes256-gcm.")
@click.option("--require-signed-requests", is_flag=True, help="Refuse unsigned AuthnRequests.")
@click.option("--nameid-format", type=click.Choice(saml_registry.NAMEID_FORMATS), default=None)
@click.option("--sign", type=click.Choice(saml_registry.SIGN_CHOICES), default="both", show_default=True)
@click.option("--attribute-preset", type=click.Choice(saml_registry.ATTRIBUTE_PRESETS), default="basic",
              show_default=True, help="basic: email/name/groups; uri, oid: the common SaaS claim/OID names.")
@click.option("--attribute-map", default="", help='JSON {"email": "their name", ...} overriding the preset.')
@click.option("--relay-state", default="", help="RelayState of IdP-initiated logins (portal tile).")
@click.option("--group", "group_names", multiple=True, help="Group allowed to use the app (repeatable).")
@json_option
@transactional
def add_saml(slug, name, metadata_file, metadata_url, entity_id, acs_urls, slo_url, slo_binding, cert_file,
             encryption_cert_file, encryption_algorithm, require_signed_requests, nameid_format, sign, attribute_preset,
             attribute_map, relay_state, group_names, as_json):
    """Register a SAML service provider; prints app_id and entity_id."""
    if [bool(metadata_file), bool(metadata_url), bool(entity_id or acs_urls)].count(True) != 1:
        raise click.UsageError("give either --metadata FILE, --metadata-url URL or --entity-id and --acs-url")
    tenant = tenants.get_by_slug(slug)
    chosen = [groups.get_by_name(tenant, group_name) for group_name in group_names]
    metadata = _read(metadata_file) if metadata_file else None
    if metadata_url:
        metadata = metadata_fetch.fetch_sp_metadata(metadata_url).encode()
    values = parse_sp_metadata(metadata) if metadata else {
        "entity_id": entity_id, "acs_urls": list(acs_urls), "slo_url": slo_url, "signing_cert": "",
        "encryption_cert": "", "requests_signed": False, "nameid_format": "email"}
    if cert_file:
        values["signing_cert"] = _read(cert_file).decode("ascii", "replace")
    if encryption_cert_file:
        values["encryption_cert"] = _read(encryption_cert_file).decode("ascii", "replace")
    if slo_url:
        values["slo_url"] = slo_url
    values["slo_binding"] = slo_binding or values.get("slo_binding") or saml_registry.SLO_REDIRECT
    values["requests_signed"] = values["requests_signed"] or require_signed_requests
    values["nameid_format"] = nameid_format or values["nameid_format"]
    from_metadata = encryption_algorithm_of(metadata) if metadata else None
    values["encryption_algorithm"] = encryption_algorithm or from_metadata or saml_registry.ENCRYPTION_ALGORITHMS[0]
    created = saml_registry.register(
        tenant, saml_registry.SpSettings(
            name=name, sign=sign, attribute_preset=attribute_preset,
            attribute_map=saml_registry.json_attribute_map(attribute_map), relay_state=relay_state, **values),
        now=current_time(), actor=OPERATOR, groups=chosen)
    created.sp.metadata_url = metadata_url.strip()
    data = created.as_json()
    return Output(as_json, data, f"registered SAML app {created.app.name} (app id {data['app_id']})\n"
                                 f"entity_id: {data['entity_id']}")


@app_cli.command("refresh-metadata")
@click.option("--tenant", "slug", required=True)
@click.option("--app", "app_id", type=int, default=None, help="The SAML app's id.")
@click.option("--entity-id", default="", help="The SP's entity ID (instead of --app).")
@json_option
@transactional
def refresh_metadata(slug, app_id, entity_id, as_json):
    """Re-read a SAML SP's metadata from its stored URL and apply it (entity ID, ACS, SLO, certificates);
    prints app_id, entity_id and the changed settings."""
    if (app_id is None) == (not entity_id):
        raise click.UsageError("give either --app ID or --entity-id")
    tenant = tenants.get_by_slug(slug)
    sp = metadata_fetch.stored_sp(tenant, app_id=app_id, entity_id=entity_id)
    if sp is None:
        raise click.ClickException(f"no SAML app {app_id or entity_id!r} in tenant {slug}")
    changed = metadata_fetch.refresh_from_url(sp, now=current_time(), actor=OPERATOR)
    data = {"app_id": sp.app_id, "entity_id": sp.entity_id, "changed": changed}
    return Output(as_json, data, f"refreshed the metadata of SAML app {sp.app_id} from {sp.metadata_url}\n"
                                 f"changed: {', '.join(changed) or 'nothing'}")
