"""Operator commands: `idp app add-saml` (commands on idp.cli.app_cli)."""
import click

from . import groups, saml_registry, tenants
from .audit import OPERATOR
from .cli import Output, app_cli, json_option, transactional
from .clock import current_time
from .saml_metadata_import import MAX_METADATA_BYTES, encryption_algorithm_of, parse_sp_metadata


def _read(path):
    with open(path, "rb") as fh:
        return fh.read(MAX_METADATA_BYTES + 1)


@app_cli.command("add-saml")
@click.option("--tenant", "slug", required=True)
@click.option("--name", required=True)
@click.option("--metadata", "metadata_file", type=click.Path(exists=True, dir_okay=False),
              help="The SP's SAML metadata file (entity ID, ACS, SLO, certificates).")
@click.option("--entity-id", default="")
@click.option("--acs-url", "acs_urls", multiple=True, help="Assertion Consumer Service URL (repeatable; the first "
              "is the default).")
@click.option("--slo-url", default="")
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
def add_saml(slug, name, metadata_file, entity_id, acs_urls, slo_url, cert_file, encryption_cert_file,
             encryption_algorithm, require_signed_requests, nameid_format, sign, attribute_preset, attribute_map,
             relay_state, group_names, as_json):
    """Register a SAML service provider; prints app_id and entity_id."""
    if bool(metadata_file) == bool(entity_id or acs_urls):
        raise click.UsageError("give either --metadata FILE or --entity-id and --acs-url")
    tenant = tenants.get_by_slug(slug)
    chosen = [groups.get_by_name(tenant, group_name) for group_name in group_names]
    metadata = _read(metadata_file) if metadata_file else None
    values = parse_sp_metadata(metadata) if metadata else {
        "entity_id": entity_id, "acs_urls": list(acs_urls), "slo_url": slo_url, "signing_cert": "",
        "encryption_cert": "", "requests_signed": False, "nameid_format": "email"}
    if cert_file:
        values["signing_cert"] = _read(cert_file).decode("ascii", "replace")
    if encryption_cert_file:
        values["encryption_cert"] = _read(encryption_cert_file).decode("ascii", "replace")
    if slo_url:
        values["slo_url"] = slo_url
    values["requests_signed"] = values["requests_signed"] or require_signed_requests
    values["nameid_format"] = nameid_format or values["nameid_format"]
    from_metadata = encryption_algorithm_of(metadata) if metadata else None
    values["encryption_algorithm"] = encryption_algorithm or from_metadata or saml_registry.ENCRYPTION_ALGORITHMS[0]
    created = saml_registry.register(
        tenant, name=name, now=current_time(), actor=OPERATOR, sign=sign, attribute_preset=attribute_preset,
        attribute_map=saml_registry.json_attribute_map(attribute_map), relay_state=relay_state, groups=chosen,
        **values)
    data = created.as_json()
    return Output(as_json, data, f"registered SAML app {created.app.name} (app id {data['app_id']})\n"
                                 f"entity_id: {data['entity_id']}")
