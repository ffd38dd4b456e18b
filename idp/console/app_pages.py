"""Plain values of the console's app pages: list rows, the detail (with what the SaaS side needs to
copy: issuer, discovery URL, client_id, IdP metadata URL, SSO/SLO URLs; `preset`: the catalog preset the app
was added from, or None) and the edit forms' values. The setup steps of a preset are in `catalog_pages`."""
from sqlalchemy import select

from idp.console.apps import OidcFields, SamlFields, oidc_client_of, saml_sp_of
from idp.models import App
from idp.models.app import PROTOCOL_OIDC, PROTOCOL_SAML
from idp.models.oidc import OidcClient
from idp.models.saml import SamlServiceProvider
from idp.platform.extensions import db
from idp.platform.urls import issuer_for, saml_metadata_url_for
from idp.saml.sso import PRESETS


def list_rows(tenant):
    """Every app of the tenant by name, with its client_id / entity ID and the groups allowed."""
    rows = db.session.execute(
        select(App, OidcClient.client_id, SamlServiceProvider.entity_id)
        .outerjoin(OidcClient, OidcClient.app_id == App.id)
        .outerjoin(SamlServiceProvider, SamlServiceProvider.app_id == App.id)
        .where(App.tenant_id == tenant.id).order_by(App.name, App.id)).all()
    return [{"id": app.id, "name": app.name, "protocol": app.protocol, "icon": app.icon or app.name[:1],
             "color_index": app.color_index, "identifier": client_id or entity_id or app.launch_url,
             "groups": sorted(g.name for g in app.groups)} for app, client_id, entity_id in rows]


def tenant_urls(tenant):
    issuer = issuer_for(tenant.slug)
    return {"issuer": issuer, "discovery_url": f"{issuer}/.well-known/openid-configuration",
            "metadata_url": saml_metadata_url_for(tenant.slug), "saml_entity_id": saml_metadata_url_for(tenant.slug),
            "saml_sso_url": f"{issuer}/saml/sso", "saml_slo_url": f"{issuer}/saml/slo"}


def detail_values(tenant, app):
    values = {"id": app.id, "name": app.name, "protocol": app.protocol, "icon": app.icon or app.name[:1],
              "custom_icon": bool(app.icon), "color": app.color, "color_index": app.color_index,
              "launch_url": app.launch_url, "created_at": app.created_at, "updated_at": app.updated_at,
              "preset": app.preset,
              "groups": [{"id": g.id, "name": g.name} for g in sorted(app.groups, key=lambda g: g.name)],
              **tenant_urls(tenant)}
    if app.protocol == PROTOCOL_OIDC:
        row = oidc_client_of(app)
        values["oidc"] = {
            "client_id": row.client_id, "public": row.public, "redirect_uris": row.redirect_uri_list,
            "post_logout_redirect_uris": row.post_logout_redirect_uri_list,
            "backchannel_logout_uri": row.backchannel_logout_uri, "id_token_alg": row.id_token_alg,
            "access_token_format": row.access_token_format, "allow_refresh": row.allow_refresh,
            "has_jwks": bool(row.jwks), "require_dpop": row.require_dpop,
            "require_par": row.require_pushed_authorization_requests, "api_client": row.api_client,
            "access_token_minutes": app.access_token_seconds // 60,
            "id_token_minutes": app.id_token_seconds // 60, "refresh_token_days": app.refresh_token_seconds // 86400}
    elif app.protocol == PROTOCOL_SAML:
        sp = saml_sp_of(app)
        values["saml"] = {
            "entity_id": sp.entity_id, "acs": sp.acs_list, "slo_url": sp.slo_url, "slo_binding": sp.slo_binding,
            "has_signing_cert": bool(sp.signing_cert), "has_encryption_cert": bool(sp.encryption_cert),
            "requests_signed": sp.requests_signed, "nameid_format": sp.nameid_format, "sign": sp.sign,
            "attribute_preset": sp.attribute_preset, "relay_state": sp.relay_state, "metadata_url": sp.metadata_url,
            "attributes": sorted({**PRESETS[sp.attribute_preset], **sp.attribute_names}.items())}
    return values


def oidc_fields_of(app):
    row = oidc_client_of(app)
    return OidcFields(
        name=app.name, icon=app.icon, color=app.color, launch_url=row.initiate_login_uri,
        group_ids=[g.id for g in app.groups], redirect_uris=row.redirect_uri_list,
        post_logout_redirect_uris=row.post_logout_redirect_uri_list, backchannel_logout_uri=row.backchannel_logout_uri,
        public=row.public, id_token_alg=row.id_token_alg, access_token_format=row.access_token_format,
        allow_refresh=row.allow_refresh, jwks=row.jwks, require_dpop=row.require_dpop,
        require_par=row.require_pushed_authorization_requests, api_client=row.api_client,
        access_token_minutes=app.access_token_seconds // 60,
        id_token_minutes=app.id_token_seconds // 60, refresh_token_days=app.refresh_token_seconds // 86400)


def saml_fields_of(app):
    sp = saml_sp_of(app)
    return SamlFields(
        name=app.name, icon=app.icon, color=app.color, group_ids=[g.id for g in app.groups],
        entity_id=sp.entity_id, acs_urls=[e["url"] for e in sp.acs_list], slo_url=sp.slo_url,
        slo_binding=sp.slo_binding,
        signing_cert=sp.signing_cert, encryption_cert=sp.encryption_cert, encryption_algorithm=sp.encryption_algorithm,
        requests_signed=sp.requests_signed,
        nameid_format=sp.nameid_format, sign=sp.sign, attribute_preset=sp.attribute_preset,
        attribute_map=sp.attribute_names, relay_state=sp.relay_state, metadata_url=sp.metadata_url)


def attribute_presets():
    """{preset: {key: attribute name}} for the form's placeholders."""
    return PRESETS
