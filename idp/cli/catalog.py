"""`idp catalog list` (the SaaS catalog's presets) and `idp app add --preset ID --input KEY=VALUE …`
(an app added from a preset; prints the keys of `idp app add-saml` / `add-oidc` plus `preset`)."""
import click
from flask.cli import AppGroup

from idp.catalog import presets
from idp.catalog import registration as catalog_registration
from idp.cli.apps import app_cli
from idp.cli.output import Output, emit, json_option, transactional
from idp.directory import groups
from idp.logs.audit import OPERATOR
from idp.platform.clock import current_time
from idp.tenancy import tenants

catalog_cli = AppGroup("catalog", help="The SaaS catalog: services added by picking a preset (docs/catalog.md).")


def preset_summary(preset):
    return {"id": preset.id, "name": preset.name, "name_ja": preset.name_ja, "category": preset.category,
            "protocol": preset.protocol, "plan_en": preset.plan_en, "plan_ja": preset.plan_ja,
            "inputs": [{"key": item.key, "label_ja": item.label_ja, "label_en": item.label_en,
                        "pattern": item.pattern, "example": item.example} for item in preset.inputs],
            "sources": list(preset.sources)}


@catalog_cli.command("list")
@json_option
def list_presets(as_json):
    """Every preset of the catalog: id, name, category, protocol, inputs, sources."""
    found = [preset_summary(preset) for preset in presets.all_presets().values()]
    lines = [f"{p['id']:<24} {p['protocol']:<5} {p['category']:<15} {p['name']}"
             + "".join(f"\n    --input {i['key']}=…  ({i['label_en']}, e.g. {i['example']})" for i in p["inputs"])
             for p in found]
    emit(as_json, {"presets": found}, "\n".join(lines) or "no presets")


def _parse_inputs(_ctx, _param, values):
    parsed = {}
    for value in values:
        key, equals, text = value.partition("=")
        if not equals or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE")
        parsed[key.strip()] = text
    return parsed


@app_cli.command("add")
@click.option("--tenant", "slug", required=True)
@click.option("--preset", "preset_id", required=True, help="The catalog preset's id (`idp catalog list`).")
@click.option("--input", "inputs", multiple=True, callback=_parse_inputs, metavar="KEY=VALUE",
              help="A value the preset asks for (repeatable), e.g. --input domain=acme.")
@click.option("--group", "group_names", multiple=True, help="Group allowed to use the app (repeatable).")
@click.option("--name", default=None, help="The app's name (default: the service's name).")
@json_option
@transactional
def add_from_catalog(slug, preset_id, inputs, group_names, name, as_json):
    """Add an app from a catalog preset; prints app_id and entity_id (SAML) or client_id and client_secret (OIDC)."""
    tenant = tenants.get_by_slug(slug)
    chosen = [groups.get_by_name(tenant, group_name) for group_name in group_names]
    created = catalog_registration.register(tenant, preset_id, inputs, now=current_time(), actor=OPERATOR,
                                            groups=chosen, name=name)
    data = {**created.as_json(), "preset": created.app.preset}
    text = f"registered {created.app.protocol.upper()} app {created.app.name} (app id {data['app_id']}, preset " \
           f"{data['preset']})"
    if "entity_id" in data:
        text += f"\nentity_id: {data['entity_id']}"
    else:
        text += f"\nclient_id: {data['client_id']}"
        if data["client_secret"]:
            text += f"\nclient_secret (shown once): {data['client_secret']}"
    return Output(as_json, data, text)
