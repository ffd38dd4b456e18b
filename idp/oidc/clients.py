"""OIDC client registration and lookup (always within one tenant).

Each client is an `App` row (protocol "oidc": portal tile, group assignment) plus an
`OidcClient` row. Redirect, post-logout and back-channel URIs must be https, except
http://127.0.0.1:<port> / http://localhost:<port> (native apps, RFC 8252 7.3). The client
secret is random, shown once and stored as its SHA-256 (it has 256 bits of entropy, so a
fast digest is safe and keeps the token endpoint fast).
"""
import json
from dataclasses import asdict, dataclass, replace
from typing import Optional, Sequence

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from idp.apps.catalogue import new_app
from idp.logs.audit import NO_CLIENT, record_audit
from idp.models import App
from idp.models.app import PROTOCOL_OIDC
from idp.models.oidc import OidcClient, OidcUsedAssertion
from idp.platform import config_cache
from idp.platform.errors import ValidationError
from idp.platform.extensions import db
from idp.platform.random_tokens import digest, new_token, same
from idp.platform.validation import text_errors, uri_errors

ID_TOKEN_ALGS = ("RS256", "ES256")
ACCESS_TOKEN_FORMATS = ("jwt", "opaque")
# The admin REST API's scopes (docs/api.md): only a client marked `api_client` gets them, and only by the
# client_credentials grant (the authorization endpoint keeps to idp.oidc.claims.SCOPES_SUPPORTED).
ADMIN_READ, ADMIN_WRITE = "admin:read", "admin:write"
ADMIN_SCOPES = (ADMIN_READ, ADMIN_WRITE)


@dataclass(frozen=True)
class RegisteredClient:
    app: App
    client: OidcClient
    client_secret: Optional[str]  # shown once; None for public clients

    def as_json(self):
        return {"app_id": self.app.id, "client_id": self.client.client_id, "client_secret": self.client_secret}


def _uri_list_errors(uris, required=False):
    if required and not uris:
        return [_l("リダイレクトURIを1つ以上指定してください。")]
    return [msg for uri in uris for msg in uri_errors(uri)]


def _jwks_errors(jwks):
    if not jwks:
        return []
    try:
        keys = json.loads(jwks)["keys"]
        assert isinstance(keys, list) and keys
    except (ValueError, KeyError, TypeError, AssertionError):
        return [_l("JWKSの形式が正しくありません。")]
    return []


@dataclass(frozen=True)
class ClientSettings:
    """What registering an OIDC client sets (the CLI's options, the console's form); URIs as given."""

    name: str
    redirect_uris: Sequence[str] = ()
    post_logout_redirect_uris: Sequence[str] = ()
    backchannel_logout_uri: str = ""
    public: bool = False  # no secret, PKCE required (SPA, native app)
    initiate_login_uri: str = ""  # the portal tile starts a login there (third-party initiated login)
    id_token_alg: str = "RS256"
    access_token_format: str = "opaque"
    allow_refresh: bool = True
    jwks: str = ""  # the client's public JWK Set, for private_key_jwt
    require_dpop: bool = False  # every token request must carry a DPoP proof (RFC 9449 5.2)
    require_par: bool = False  # authorization requests only through /oidc/par (RFC 9126 5)
    api_client: bool = False  # may get the admin API's scopes by client_credentials (ADMIN_SCOPES)


def register(tenant, settings, *, now, actor, groups=(), client=NO_CLIENT):
    """Create the app and its OIDC client; returns RegisteredClient with the secret (shown once)."""
    settings = replace(
        settings, name=(settings.name or "").strip(),
        redirect_uris=[u.strip() for u in settings.redirect_uris if u.strip()],
        post_logout_redirect_uris=[u.strip() for u in settings.post_logout_redirect_uris if u.strip()],
        backchannel_logout_uri=settings.backchannel_logout_uri or "",
        initiate_login_uri=settings.initiate_login_uri or "", jwks=settings.jwks or "")
    values = asdict(settings)
    flags = ("public", "allow_refresh", "require_dpop", "require_par", "api_client")
    errors = registration_errors(**{k: v for k, v in values.items() if k not in flags})
    if any(errors.values()):
        raise ValidationError(errors)
    app = new_app(tenant, name=settings.name, protocol=PROTOCOL_OIDC, launch_url=settings.initiate_login_uri,
                  groups=groups, now=now)
    secret = None if settings.public else new_token(32)
    stored_as_given = ("backchannel_logout_uri", "initiate_login_uri", "jwks", "id_token_alg", "access_token_format",
                       "allow_refresh", "require_dpop", "api_client")
    row = OidcClient(
        tenant_id=tenant.id, app_id=app.id, client_id=new_token(18),
        client_secret_hash=digest(secret) if secret else None, redirect_uris="\n".join(settings.redirect_uris),
        post_logout_redirect_uris="\n".join(settings.post_logout_redirect_uris), created_at=now,
        require_pushed_authorization_requests=settings.require_par,
        **{key: values[key] for key in stored_as_given})
    db.session.add(row)
    db.session.flush()
    record_audit(tenant_id=tenant.id, actor=actor, action="app.create", target=app, now=now, client=client,
                 changes={"name": settings.name, "protocol": PROTOCOL_OIDC, "client_id": row.client_id,
                          "public": settings.public, "redirect_uris": settings.redirect_uris,
                          **({"api_client": True} if settings.api_client else {})})
    return RegisteredClient(app=app, client=row, client_secret=secret)


def find(tenant, client_id):
    """The tenant's client with this client_id, or None (a client of another tenant is unknown here)."""
    if not client_id or not isinstance(client_id, str) or len(client_id) > 64:
        return None
    return config_cache.registration(tenant, OidcClient, OidcClient.client_id, client_id)


def secret_matches(client, secret):
    """Constant-time check of a presented client secret (public clients have none)."""
    if client.client_secret_hash is None or not secret:
        return False
    return same(client.client_secret_hash, digest(secret))


def clients_with_backchannel(client_pks):
    if not client_pks:
        return []
    return db.session.scalars(select(OidcClient).where(OidcClient.id.in_(client_pks),
                                                       OidcClient.backchannel_logout_uri != "")).all()


def registration_errors(*, name, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri,
                        initiate_login_uri, jwks, id_token_alg, access_token_format):
    """{field: [messages]} for registration values (stripped); shared by `register` and the console's edit."""
    errors = {
        "name": text_errors(name, required=True, max_length=200),
        "redirect_uri": _uri_list_errors(redirect_uris, required=True),
        "post_logout_redirect_uri": _uri_list_errors(post_logout_redirect_uris),
        "backchannel_logout_uri": uri_errors(backchannel_logout_uri) if backchannel_logout_uri else [],
        "initiate_login_uri": uri_errors(initiate_login_uri) if initiate_login_uri else [],
        "jwks": _jwks_errors(jwks),
    }
    if id_token_alg not in ID_TOKEN_ALGS:
        errors["id_token_alg"] = [_l("署名アルゴリズムはRS256またはES256です。")]
    if access_token_format not in ACCESS_TOKEN_FORMATS:
        errors["access_token_format"] = [_l("アクセストークンの形式はjwtまたはopaqueです。")]
    return errors


def remember_assertion(client, jti, expires_at, now):
    """False when this client already used a client assertion with this `jti` (a replay, OIDC Core 9);
    otherwise remember it until `expires_at`, after which the assertion is refused anyway."""
    db.session.execute(delete(OidcUsedAssertion).where(OidcUsedAssertion.client_pk == client.id,
                                                       OidcUsedAssertion.expires_at < now))
    try:
        with db.session.begin_nested():
            db.session.add(OidcUsedAssertion(tenant_id=client.tenant_id, client_pk=client.id, jti_hash=digest(jti),
                                             expires_at=expires_at))
    except IntegrityError:
        return False
    return True
