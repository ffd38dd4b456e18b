"""Adding a service from the catalog: the admin's inputs checked against the preset's patterns, then the
preset's templates filled and registered through the protocol's own registry (idp.saml.registry,
idp.oidc.clients): the same rules, audit event and result as a hand-filled registration. The new App
remembers its preset and inputs (its setup steps, idp.catalog.steps) and gets the preset's launch URL."""
import json
import re

from flask_babel import lazy_gettext as _l

from idp.catalog import presets
from idp.catalog.schema import render
from idp.logs.audit import NO_CLIENT
from idp.oidc import clients as oidc_clients
from idp.platform.errors import ValidationError
from idp.saml import registry as saml_registry

MAX_INPUT_LENGTH = 200


def _cleaned(preset, inputs):
    return {item.key: str((inputs or {}).get(item.key) or "").strip() for item in preset.inputs}


def input_errors(preset, inputs):
    """{key: [messages]} of the admin's inputs (empty when all are fine); a key the preset has not is an error."""
    values = _cleaned(preset, inputs)
    errors = {}
    for item in preset.inputs:
        value = values[item.key]
        if not value:
            errors[item.key] = [_l("入力してください。")]
        elif len(value) > MAX_INPUT_LENGTH or not re.fullmatch(item.pattern, value):
            errors[item.key] = [_l("形式が正しくありません（例: %(example)s）。", example=item.example)]
    for key in inputs or {}:
        if key not in values:
            errors[str(key)[:64]] = [_l("このサービスにはない入力項目です。")]
    return errors


def _saml_settings(preset, values, name):
    saml = preset.saml
    return saml_registry.SpSettings(
        name=name, entity_id=render(saml.entity_id, values), acs_urls=[render(u, values) for u in saml.acs_urls],
        nameid_format=saml.nameid_format, sign=saml.sign, attribute_preset=saml.attribute_preset,
        attribute_map=dict(saml.attribute_map), relay_state=render(saml.relay_state, values))


def _oidc_settings(preset, values, name):
    oidc = preset.oidc
    return oidc_clients.ClientSettings(
        name=name, redirect_uris=[render(u, values) for u in oidc.redirect_uris],
        post_logout_redirect_uris=[render(u, values) for u in oidc.post_logout_redirect_uris],
        initiate_login_uri=render(oidc.initiate_login_uri, values), public=oidc.public)


def _as_preset_errors(exc):
    """The registry's field errors (a duplicate entity ID, …) under `preset`, the app name's under `name`."""
    errors = {"name": exc.errors.get("name", [])}
    errors["preset"] = [message for field, messages in exc.errors.items() if field != "name" for message in messages]
    return ValidationError(errors, detail=exc.detail)


def register(tenant, preset_id, inputs, *, now, actor, groups=(), name=None, client=NO_CLIENT):
    """Register the preset's app with the admin's inputs: a RegisteredSp (SAML) or a RegisteredClient (OIDC,
    with the secret shown once). ValidationError keyed by input key, `name`, or `preset` (unknown id)."""
    preset = presets.get(preset_id)
    if preset is None:
        raise ValidationError({"preset": [_l("このサービスはカタログにありません。")]},
                              detail=f"unknown catalog preset {str(preset_id)[:64]!r}")
    errors = input_errors(preset, inputs)
    if errors:
        raise ValidationError(errors, detail=f"invalid inputs for catalog preset {preset.id}: {sorted(errors)}")
    values = _cleaned(preset, inputs)
    name = (name or "").strip() or preset.name
    try:
        if preset.protocol == "saml":
            created = saml_registry.register(tenant, _saml_settings(preset, values, name), now=now, actor=actor,
                                             groups=groups, client=client)
            if preset.saml.sp_metadata_url:  # 「メタデータを再取得」 then works for this app
                created.sp.metadata_url = render(preset.saml.sp_metadata_url, values)
        else:
            created = oidc_clients.register(tenant, _oidc_settings(preset, values, name), now=now, actor=actor,
                                            groups=groups, client=client)
    except ValidationError as exc:
        raise _as_preset_errors(exc) from None
    created.app.preset = preset.id
    created.app.preset_inputs = json.dumps(values, ensure_ascii=False, sort_keys=True)
    if preset.launch_url:
        created.app.launch_url = render(preset.launch_url, values)
    return created
