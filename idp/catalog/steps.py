"""The setup steps of an app added from the catalog: the preset's steps in the admin's language with every
placeholder filled: the admin's inputs and our values (issuer, SSO URL, certificate download, client ID…),
built from IDP_BASE_URL like every external URL (idp.platform.urls)."""
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from flask_babel import force_locale, gettext
from sqlalchemy import select

from idp import keys
from idp.catalog import presets
from idp.catalog.schema import render
from idp.models.oidc import OidcClient
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.platform.urls import external_url, issuer_for, saml_metadata_url_for


def _lang(lang):
    return "ja" if (lang or "ja").lower().startswith("ja") else "en"


def certificate_sha256(tenant, now):
    """The SHA-256 fingerprint of the certificate the tenant signs SAML with now, as `openssl x509 -fingerprint
    -sha256` prints it (AB:CD:…): what a service that pins the fingerprint instead of the certificate asks for."""
    certificate = x509.load_pem_x509_certificate(keys.signing_key(tenant, "RS256", now).certificate.encode())
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def our_values(app, tenant, lang):
    """{placeholder: value} of what the service's side needs from us (the copy buttons' values)."""
    issuer = issuer_for(tenant.slug)
    client_id = db.session.scalar(select(OidcClient.client_id).where(OidcClient.tenant_id == tenant.id,
                                                                     OidcClient.app_id == app.id))
    with force_locale(_lang(lang)):
        secret_note = gettext("登録時に一度だけ表示されたクライアントシークレット")
    preset = presets.get(app.preset)
    return {"issuer": issuer, "discovery_url": f"{issuer}/.well-known/openid-configuration",
            "saml_entity_id": saml_metadata_url_for(tenant.slug), "metadata_url": saml_metadata_url_for(tenant.slug),
            "sso_url": f"{issuer}/saml/sso", "slo_url": f"{issuer}/saml/slo",
            "certificate_url": external_url(f"/admin/apps/{app.id}/certificate.pem"),
            "certificate_sha256": certificate_sha256(tenant, current_time()),
            "client_id": client_id or "", "client_secret_note": secret_note,
            "name": preset.display_name(_lang(lang)) if preset else app.name}


def steps_for(app, tenant, lang):
    """The filled steps (strings) in `lang` ("ja" or else English); [] for an app without a (known) preset."""
    preset = presets.get(app.preset) if app.preset and app.tenant_id == tenant.id else None
    if preset is None:
        return []
    try:
        inputs = json.loads(app.preset_inputs or "{}")
    except ValueError:
        inputs = {}
    values = {item.key: str(inputs.get(item.key, "")) for item in preset.inputs}
    values.update(our_values(app, tenant, lang))
    return [render(line, values) for line in getattr(preset.steps, _lang(lang))]
