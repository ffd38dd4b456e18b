"""App administration (the console's メニュー「サービス」): create, edit, delete OIDC and SAML apps,
regenerate an OIDC client secret.

- Create goes through the services of the CLI (`oidc_clients.register`, `saml_registry.register`);
  edit checks the same rules (their `registration_errors`), so the console and `idp app add-*`
  accept exactly the same values.
- Every app also has its portal tile (icon, colour), launch URL and the groups allowed to use it;
  OIDC apps their token lifetimes (`App.*_token_seconds`, read by the token code).
- A client secret is random, returned once (creation, "regenerate", a switch to confidential)
  and stored as its SHA-256 only; a new one invalidates the old at once.
- Deleting an app deletes its client / SP row and, through the foreign keys, its codes, grants
  and tokens: no session ends, but the app's tokens are refused from then on.
Every look-up is bounded by the tenant (another tenant's id is 'not found'); every change writes
an audit event. Page values are in `app_pages`.
"""
import hashlib
import json
from dataclasses import dataclass, field, replace

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from idp.console.tenant_rows import tenant_row, tenant_rows
from idp.logs.audit import NO_CLIENT, record_audit
from idp.models import App, Group, Tenant
from idp.models.app import ACCESS_TOKEN_SECONDS, ID_TOKEN_SECONDS, PROTOCOL_OIDC, REFRESH_TOKEN_SECONDS, TILE_COLORS
from idp.models.oidc import OidcClient
from idp.models.saml import SamlServiceProvider
from idp.oidc import clients as oidc_clients
from idp.platform.errors import NotFound, ServiceError, ValidationError
from idp.platform.extensions import db
from idp.platform.random_tokens import digest, new_token
from idp.platform.validation import text_errors
from idp.saml import metadata_fetch
from idp.saml import registry as saml_registry
from idp.saml.metadata_import import parse_sp_metadata

# (field, unit in seconds, lowest, highest) of the token lifetimes an admin may choose
LIFETIME_RANGES = {"access_token_minutes": (60, 5, 1440), "id_token_minutes": (60, 5, 1440),
                   "refresh_token_days": (86400, 1, 365)}


@dataclass
class OidcFields:
    """What the OIDC form edits; `launch_url` is the client's initiate_login_uri."""

    name: str = ""
    icon: str = ""
    color: str = ""
    launch_url: str = ""
    group_ids: list = field(default_factory=list)
    redirect_uris: list = field(default_factory=list)
    post_logout_redirect_uris: list = field(default_factory=list)
    backchannel_logout_uri: str = ""
    public: bool = False
    id_token_alg: str = "RS256"
    access_token_format: str = "opaque"
    allow_refresh: bool = True
    jwks: str = ""
    require_dpop: bool = False  # DPoP-bound tokens only (RFC 9449, idp.oidc.dpop)
    require_par: bool = False  # pushed authorization requests only (RFC 9126, idp.oidc.par)
    api_client: bool = False  # 管理APIクライアント: may get admin:read / admin:write (docs/api.md)
    access_token_minutes: object = ACCESS_TOKEN_SECONDS // 60
    id_token_minutes: object = ID_TOKEN_SECONDS // 60
    refresh_token_days: object = REFRESH_TOKEN_SECONDS // 86400


@dataclass
class SamlFields(saml_registry.SpSettings):
    """What the SAML form edits: the registration's settings (`acs_urls` in order, the first is the
    default) and the portal tile."""

    icon: str = ""
    color: str = ""
    group_ids: list = field(default_factory=list)
    metadata_url: str = ""  # where the SP publishes its metadata (idp.saml.metadata_fetch)
    acs_indexes: list = field(default_factory=list)  # [(url, index)] from metadata the form was filled from


def get_app(tenant, app_id):
    app = tenant_row(App, tenant, app_id)
    if app is None:
        raise NotFound(_l("サービスが見つかりません。"))
    return app


def oidc_client_of(app):
    return db.session.scalar(select(OidcClient).where(OidcClient.tenant_id == app.tenant_id,
                                                      OidcClient.app_id == app.id))


def saml_sp_of(app):
    return db.session.scalar(select(SamlServiceProvider).where(SamlServiceProvider.tenant_id == app.tenant_id,
                                                               SamlServiceProvider.app_id == app.id))


# --- shared rules -----------------------------------------------------------------------------

def _tile_errors(fields):
    errors = {"icon": text_errors((fields.icon or "").strip(), required=False, max_length=2)}
    if fields.color not in ("",) + TILE_COLORS:
        errors["color"] = [_l("選択肢にない値です。")]
    return errors


def _groups(tenant, group_ids, errors):
    found = tenant_rows(Group, tenant, group_ids)
    if found is None:
        errors["groups"] = [_l("グループが見つかりません。")]
    return found or []


def _lifetime_errors(fields):
    errors = {}
    for key, (_unit, low, high) in LIFETIME_RANGES.items():
        value = getattr(fields, key)
        if not isinstance(value, int) or not low <= value <= high:
            errors[key] = [_l("%(low)d〜%(high)dの整数で入力してください。", low=low, high=high)]
    return errors


def _raise_if_any(*error_dicts):
    merged = {}
    for errors in error_dicts:
        merged.update({key: value for key, value in errors.items() if value})
    if merged:
        raise ValidationError(merged, detail=f"invalid app form: {sorted(merged)}")


def _apply_common(app, fields, groups, now):
    app.name = fields.name.strip()
    app.icon = (fields.icon or "").strip()
    app.color = fields.color
    app.groups = groups
    app.updated_at = now


def _snapshot(app, row):
    """The audited values of an app (certificates as SHA-256 fingerprints, never secrets)."""
    values = {"name": app.name, "icon": app.icon, "color": app.color, "launch_url": app.launch_url,
              "groups": sorted(g.name for g in app.groups)}
    skip = {"id", "tenant_id", "app_id", "created_at", "updated_at", "client_secret_hash"}
    for column in row.__table__.columns:
        if column.key not in skip:
            value = getattr(row, column.key)
            if column.key.endswith("_cert") and value:
                value = "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]
            values[column.key] = value
    if app.protocol == PROTOCOL_OIDC:
        values.update(public=row.public, access_token_seconds=app.access_token_seconds,
                      id_token_seconds=app.id_token_seconds, refresh_token_seconds=app.refresh_token_seconds)
    return values


def _audit_update(app, before, after, *, now, actor, client):
    changes = {key: [before.get(key), value] for key, value in after.items() if before.get(key) != value}
    record_audit(tenant_id=app.tenant_id, actor=actor, action="app.update", target=app, now=now,
                 changes=changes, client=client)


# --- OIDC ------------------------------------------------------------------------------------------

def _clean(uris):
    return [u.strip() for u in uris if u and u.strip()]


def _oidc_rules(fields):
    return oidc_clients.registration_errors(
        name=fields.name.strip(), redirect_uris=_clean(fields.redirect_uris),
        post_logout_redirect_uris=_clean(fields.post_logout_redirect_uris),
        backchannel_logout_uri=fields.backchannel_logout_uri.strip(), initiate_login_uri=fields.launch_url.strip(),
        jwks=fields.jwks.strip(), id_token_alg=fields.id_token_alg, access_token_format=fields.access_token_format)


def _apply_lifetimes(app, fields):
    app.access_token_seconds = fields.access_token_minutes * 60
    app.id_token_seconds = fields.id_token_minutes * 60
    app.refresh_token_seconds = fields.refresh_token_days * 86400


def create_oidc(tenant, fields, *, now, actor, client=NO_CLIENT):
    """Register through `oidc_clients.register`; returns its RegisteredClient (secret shown once)."""
    errors = {**_tile_errors(fields), **_lifetime_errors(fields)}
    groups = _groups(tenant, fields.group_ids, errors)
    _raise_if_any(_oidc_rules(fields), errors)
    created = oidc_clients.register(
        tenant, oidc_clients.ClientSettings(
            name=fields.name, redirect_uris=fields.redirect_uris,
            post_logout_redirect_uris=fields.post_logout_redirect_uris,
            backchannel_logout_uri=fields.backchannel_logout_uri.strip(), public=fields.public,
            initiate_login_uri=fields.launch_url.strip(), id_token_alg=fields.id_token_alg,
            access_token_format=fields.access_token_format, allow_refresh=fields.allow_refresh,
            jwks=fields.jwks.strip(), require_dpop=bool(fields.require_dpop), require_par=bool(fields.require_par),
            api_client=bool(fields.api_client)),
        groups=groups, now=now, actor=actor, client=client)
    _apply_common(created.app, fields, groups, now)
    _apply_lifetimes(created.app, fields)
    return created


def update_oidc(app, fields, *, now, actor, client=NO_CLIENT):
    """Apply the form; returns a new client secret when the app became confidential, else None."""
    row = oidc_client_of(app)
    errors = {**_tile_errors(fields), **_lifetime_errors(fields)}
    groups = _groups(app_tenant(app), fields.group_ids, errors)
    _raise_if_any(_oidc_rules(fields), errors)
    before = _snapshot(app, row)
    _apply_common(app, fields, groups, now)
    _apply_lifetimes(app, fields)
    app.launch_url = row.initiate_login_uri = fields.launch_url.strip()
    row.redirect_uris = "\n".join(_clean(fields.redirect_uris))
    row.post_logout_redirect_uris = "\n".join(_clean(fields.post_logout_redirect_uris))
    row.backchannel_logout_uri = fields.backchannel_logout_uri.strip()
    row.id_token_alg, row.access_token_format = fields.id_token_alg, fields.access_token_format
    row.allow_refresh, row.jwks = bool(fields.allow_refresh), fields.jwks.strip()
    row.require_dpop = bool(fields.require_dpop)
    row.require_pushed_authorization_requests = bool(fields.require_par)
    row.api_client = bool(fields.api_client)
    secret = None
    if fields.public:
        row.client_secret_hash = None
    elif row.public:
        secret = new_token(32)
        row.client_secret_hash = digest(secret)
    _audit_update(app, before, _snapshot(app, row), now=now, actor=actor, client=client)
    return secret


def regenerate_secret(app, *, now, actor, client=NO_CLIENT):
    """A new client secret (returned once); the old one stops working at once."""
    row = oidc_client_of(app) if app.protocol == PROTOCOL_OIDC else None
    if row is None or row.public:
        raise ServiceError(_l("このサービスにはクライアントシークレットがありません。"))
    secret = new_token(32)
    row.client_secret_hash = digest(secret)
    app.updated_at = now
    record_audit(tenant_id=app.tenant_id, actor=actor, action="app.secret_regenerate", target=app, now=now,
                 changes={"client_id": row.client_id}, client=client)
    return secret


# --- SAML ------------------------------------------------------------------------------------------

def _with_metadata(fields, metadata, errors):
    """The connection fields from an uploaded SP metadata document (replacing the typed ones)."""
    if not metadata:
        return fields
    try:
        values = parse_sp_metadata(metadata)
    except ValidationError as exc:
        errors.update(exc.errors)
        return None
    values.pop("nameid_format")  # the form's choice wins
    return SamlFields(**{**fields.__dict__, **values})


def _saml_rules(tenant, fields, acs_urls, sp=None):
    return saml_registry.registration_errors(
        tenant, sp=sp, acs_urls=acs_urls, name=fields.name.strip(), entity_id=fields.entity_id.strip(),
        slo_url=fields.slo_url.strip(), slo_binding=fields.slo_binding, signing_cert=fields.signing_cert,
        encryption_cert=fields.encryption_cert, nameid_format=fields.nameid_format, sign=fields.sign,
        attribute_preset=fields.attribute_preset,
        attribute_map=fields.attribute_map, relay_state=fields.relay_state, requests_signed=fields.requests_signed,
        encryption_algorithm=fields.encryption_algorithm)


def _checked_saml(tenant, fields, metadata, sp=None):
    """(fields with the metadata applied, groups, ACS list as register takes it), or ValidationError."""
    errors = {**_tile_errors(fields), "metadata_url": metadata_fetch.url_errors(fields.metadata_url.strip())}
    groups = _groups(tenant, fields.group_ids, errors)
    fields = _with_metadata(fields, metadata, errors)
    if fields is None:
        _raise_if_any(errors)
    acs_urls = [u.strip() if isinstance(u, str) else u for u in fields.acs_urls if u]
    if fields.acs_indexes and acs_urls == [url for url, _index in fields.acs_indexes]:
        # the URLs as the metadata 「取得」 read listed them: its indexes (an SP may ask by index), first default
        acs_urls = [(url, index, position == 0) for position, (url, index) in enumerate(fields.acs_indexes)]
    elif sp is not None and acs_urls == [e["url"] for e in sp.acs_list]:
        acs_urls = [(e["url"], e["index"], e["default"]) for e in sp.acs_list]  # keep the indexes of metadata
    _raise_if_any(_saml_rules(tenant, fields, acs_urls, sp), errors)
    return fields, groups, acs_urls


def create_saml(tenant, fields, *, metadata=None, now, actor, client=NO_CLIENT):
    """Register through `saml_registry.register` (metadata, when given, fills the connection fields)."""
    fields, groups, acs_urls = _checked_saml(tenant, fields, metadata)
    created = saml_registry.register(tenant, replace(fields, acs_urls=acs_urls), groups=groups, now=now, actor=actor,
                                     client=client)
    _apply_common(created.app, fields, groups, now)
    created.sp.metadata_url = fields.metadata_url.strip()
    return created


def update_saml(app, fields, *, metadata=None, now, actor, client=NO_CLIENT):
    sp = saml_sp_of(app)
    fields, groups, acs_urls = _checked_saml(app_tenant(app), fields, metadata, sp)
    before = _snapshot(app, sp)
    _apply_common(app, fields, groups, now)
    sp.entity_id, sp.slo_url, sp.slo_binding = fields.entity_id.strip(), fields.slo_url.strip(), fields.slo_binding
    sp.acs_endpoints = json.dumps(saml_registry.acs_endpoints(acs_urls))
    sp.signing_cert = saml_registry.normalize_certificate(fields.signing_cert)
    sp.encryption_cert = saml_registry.normalize_certificate(fields.encryption_cert)
    sp.encryption_algorithm = fields.encryption_algorithm
    sp.nameid_format, sp.sign, sp.requests_signed = fields.nameid_format, fields.sign, bool(fields.requests_signed)
    sp.attribute_preset, sp.attribute_map = fields.attribute_preset, json.dumps(fields.attribute_map)
    sp.relay_state, sp.updated_at = fields.relay_state, now
    sp.metadata_url = fields.metadata_url.strip()
    _audit_update(app, before, _snapshot(app, sp), now=now, actor=actor, client=client)


# --- both ------------------------------------------------------------------------------------------

def app_tenant(app):
    return db.session.get(Tenant, app.tenant_id)


def delete_app(app, *, now, actor, client=NO_CLIENT):
    """Delete the app; its client/SP rows, codes, grants and tokens go with it (foreign keys)."""
    record_audit(tenant_id=app.tenant_id, actor=actor, action="app.delete", target=app, now=now, client=client,
                 changes={"name": app.name, "protocol": app.protocol})
    for model in (OidcClient, SamlServiceProvider):  # explicit, not only ON DELETE CASCADE
        db.session.execute(delete(model).where(model.tenant_id == app.tenant_id, model.app_id == app.id))
    app.groups = []
    db.session.delete(app)
    db.session.flush()
