"""OIDC client registration and lookup (always within one tenant).

Each client is an `App` row (protocol "oidc": portal tile, group assignment) plus an
`OidcClient` row. Redirect, post-logout and back-channel URIs must be https, except
http://127.0.0.1:<port> / http://localhost:<port> (native apps, RFC 8252 §7.3). The client
secret is random, shown once and stored as its SHA-256 (it has 256 bits of entropy, so a
fast digest is safe and keeps the token endpoint fast).
"""
import json
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload
from sqlalchemy.exc import IntegrityError

from .audit import NO_CLIENT, record_audit
from .errors import ValidationError
from .extensions import db
from . import oidc_cache
from .models import App, Group, group_apps
from .models.app import PROTOCOL_OIDC
from .models.oidc import OidcClient, OidcUsedAssertion
from .secrets_util import digest, new_token, same
from .validation import text_errors

ID_TOKEN_ALGS = ("RS256", "ES256")
ACCESS_TOKEN_FORMATS = ("jwt", "opaque")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


@dataclass(frozen=True)
class RegisteredClient:
    app: App
    client: OidcClient
    client_secret: Optional[str]  # shown once; None for public clients

    def as_json(self):
        return {"app_id": self.app.id, "client_id": self.client.client_id, "client_secret": self.client_secret}


def uri_errors(uri, *, allow_fragment=False):
    """https, or http on a loopback host with a port (RFC 8252); absolute, no fragment."""
    try:
        parts = urlsplit(uri or "")
        port = parts.port
    except ValueError:
        return [_l("URLの形式が正しくありません。")]
    if not parts.netloc or (parts.fragment and not allow_fragment) or len(uri) > 2000:
        return [_l("URLの形式が正しくありません。")]
    if parts.scheme == "https":
        return []
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS and port:
        return []
    return [_l("URLはhttps://で始めてください（http://はループバックアドレスのみ）。")]


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


def register(tenant, *, name, redirect_uris, now, actor, post_logout_redirect_uris=(), backchannel_logout_uri="",
             public=False, initiate_login_uri="", groups=(), id_token_alg="RS256", access_token_format="opaque",
             allow_refresh=True, jwks="", client=NO_CLIENT):
    """Create the app and its OIDC client; returns RegisteredClient with the secret (shown once)."""
    name = (name or "").strip()
    redirect_uris = [u.strip() for u in redirect_uris if u.strip()]
    post_logout_redirect_uris = [u.strip() for u in post_logout_redirect_uris if u.strip()]
    errors = registration_errors(
        name=name, redirect_uris=redirect_uris, post_logout_redirect_uris=post_logout_redirect_uris,
        backchannel_logout_uri=backchannel_logout_uri, initiate_login_uri=initiate_login_uri, jwks=jwks,
        id_token_alg=id_token_alg, access_token_format=access_token_format)
    if any(errors.values()):
        raise ValidationError(errors)
    app = App(tenant_id=tenant.id, name=name, protocol=PROTOCOL_OIDC, launch_url=initiate_login_uri,
              created_at=now, updated_at=now)
    app.groups = [g for g in groups if isinstance(g, Group) and g.tenant_id == tenant.id]
    db.session.add(app)
    db.session.flush()
    secret = None if public else new_token(32)
    row = OidcClient(
        tenant_id=tenant.id, app_id=app.id, client_id=new_token(18),
        client_secret_hash=digest(secret) if secret else None,
        redirect_uris="\n".join(redirect_uris), post_logout_redirect_uris="\n".join(post_logout_redirect_uris),
        backchannel_logout_uri=backchannel_logout_uri or "", initiate_login_uri=initiate_login_uri or "",
        jwks=jwks or "", id_token_alg=id_token_alg, access_token_format=access_token_format,
        allow_refresh=allow_refresh, created_at=now)
    db.session.add(row)
    db.session.flush()
    record_audit(tenant_id=tenant.id, actor=actor, action="app.create", target=app, now=now, client=client,
                 changes={"name": name, "protocol": PROTOCOL_OIDC, "client_id": row.client_id,
                          "public": public, "redirect_uris": redirect_uris})
    return RegisteredClient(app=app, client=row, client_secret=secret)


def find(tenant, client_id):
    """The tenant's client with this client_id, or None (a client of another tenant is unknown here)."""
    if not client_id or not isinstance(client_id, str) or len(client_id) > 64:
        return None
    copy = oidc_cache.cached(tenant.id, ("oidc_client", client_id), lambda: _client_copy(tenant, client_id))
    return oidc_cache.attach(copy) if copy is not None else None


def _client_copy(tenant, client_id):
    row = db.session.scalar(select(OidcClient).options(joinedload(OidcClient.app)).where(
        OidcClient.tenant_id == tenant.id, OidcClient.client_id == client_id))
    return oidc_cache.detached_copy(row, app=oidc_cache.detached_copy(row.app)) if row is not None else None


def may_use(account, client):
    """Whether the account's group is assigned to the client's app (idp.apps.may_use, from the cache)."""
    if account.tenant_id != client.tenant_id:
        return False
    allowed = oidc_cache.cached(client.tenant_id, ("app_groups", client.app_id), lambda: frozenset(
        db.session.scalars(select(group_apps.c.group_id).where(group_apps.c.app_id == client.app_id))))
    return account.group_id in allowed


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
    """False when this client already used a client assertion with this `jti` (a replay, OIDC Core §9);
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
