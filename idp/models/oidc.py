"""OpenID Connect: registered clients, authorization codes, grants and their tokens.

A grant is one authorization (a code exchange or a client-credentials request); every access
and refresh token belongs to exactly one grant, so revoking the grant revokes the whole token
family (code replay, refresh-token reuse, credential change, logout). Codes and tokens are
stored as SHA-256 digests only.
"""
from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.platform.extensions import db

TOKEN_ACCESS = "access"
TOKEN_REFRESH = "refresh"


class OidcClient(db.Model):
    __tablename__ = "oidc_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), nullable=False, unique=True)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    client_secret_hash: Mapped[Optional[str]] = mapped_column(String(64))  # None: public client
    redirect_uris: Mapped[str] = mapped_column(Text, nullable=False)  # one per line
    post_logout_redirect_uris: Mapped[str] = mapped_column(Text, nullable=False, default="")
    backchannel_logout_uri: Mapped[str] = mapped_column(String(2000), nullable=False, default="")
    initiate_login_uri: Mapped[str] = mapped_column(String(2000), nullable=False, default="")
    jwks: Mapped[str] = mapped_column(Text, nullable=False, default="")  # JSON, for private_key_jwt
    id_token_alg: Mapped[str] = mapped_column(String(10), nullable=False, default="RS256")
    access_token_format: Mapped[str] = mapped_column(String(10), nullable=False, default="opaque")  # jwt|opaque
    allow_refresh: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    require_dpop: Mapped[bool] = mapped_column(  # RFC 9449 5.2 (dpop_bound_access_tokens)
        Boolean, nullable=False, default=False, server_default=false())
    require_pushed_authorization_requests: Mapped[bool] = mapped_column(  # RFC 9126 6: authorize only after PAR
        Boolean, nullable=False, default=False, server_default=false())
    api_client: Mapped[bool] = mapped_column(  # may get admin:read / admin:write (the admin REST API, docs/api.md)
        Boolean, nullable=False, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    app = relationship("App")

    @property
    def public(self):
        return self.client_secret_hash is None

    @property
    def redirect_uri_list(self):
        return [u for u in self.redirect_uris.split("\n") if u]

    @property
    def post_logout_redirect_uri_list(self):
        return [u for u in self.post_logout_redirect_uris.split("\n") if u]


class OidcAuthorizationCode(db.Model):
    __tablename__ = "oidc_authorization_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"), nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    sso_session_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sso_sessions.id", ondelete="SET NULL"))
    redirect_uri: Mapped[str] = mapped_column(String(2000), nullable=False)
    scope: Mapped[str] = mapped_column(String(500), nullable=False)
    nonce: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    code_challenge: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    claims: Mapped[str] = mapped_column(Text, nullable=False, default="")  # the `claims` parameter, JSON
    auth_time: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    amr: Mapped[str] = mapped_column(String(64), nullable=False, default="pwd")
    sid: Mapped[str] = mapped_column(String(43), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    used_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    client = relationship("OidcClient")
    account = relationship("Account")


class OidcGrant(db.Model):
    """One authorization; its tokens form one family that is revoked together."""

    __tablename__ = "oidc_grants"
    __table_args__ = (Index("ix_oidc_grants_account", "account_id", "revoked_at"),
                      Index("ix_oidc_grants_session", "sso_session_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[Optional[int]] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    sso_session_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sso_sessions.id", ondelete="SET NULL"))
    code_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("oidc_authorization_codes.id", ondelete="SET NULL"), unique=True)
    scope: Mapped[str] = mapped_column(String(500), nullable=False)
    claims: Mapped[str] = mapped_column(Text, nullable=False, default="")
    auth_time: Mapped[Optional[datetime]] = mapped_column(DateTime)
    amr: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    sid: Mapped[str] = mapped_column(String(43), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    revoke_reason: Mapped[str] = mapped_column(String(32), nullable=False, default="")

    client = relationship("OidcClient")
    account = relationship("Account")


class OidcToken(db.Model):
    """An access or refresh token of a grant (SHA-256 of the token string)."""

    __tablename__ = "oidc_tokens"
    __table_args__ = (Index("ix_oidc_tokens_grant", "grant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    grant_id: Mapped[int] = mapped_column(ForeignKey("oidc_grants.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # access | refresh
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    scope: Mapped[str] = mapped_column(String(500), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    used_at: Mapped[Optional[datetime]] = mapped_column(DateTime)  # refresh: rotated
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    dpop_jkt: Mapped[Optional[str]] = mapped_column(String(43))  # bound to this DPoP key (RFC 9449 6, 5)

    grant = relationship("OidcGrant")


class OidcUsedAssertion(db.Model):
    """`jti` of private_key_jwt client assertions already accepted, kept until the assertion expires
    (OIDC Core 9: the jti is used only once; RFC 7523 3 item 7)."""

    __tablename__ = "oidc_used_assertions"
    __table_args__ = (UniqueConstraint("client_pk", "jti_hash", name="uq_oidc_used_assertion"),
                      Index("ix_oidc_used_assertions_expires", "client_pk", "expires_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"), nullable=False)
    jti_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class OidcUsedDpopProof(db.Model):
    """`jti` of DPoP proofs already accepted in a tenant, kept until the proof's `iat` leaves the
    accepted window (RFC 9449 11.1: a proof is used once); rows past `expires_at` are purged."""

    __tablename__ = "oidc_used_dpop_proofs"
    __table_args__ = (UniqueConstraint("tenant_id", "jti_hash", name="uq_oidc_used_dpop_proof"),
                      Index("ix_oidc_used_dpop_proofs_expires", "tenant_id", "expires_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    jti_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class OidcPushedRequest(db.Model):
    """An authorization request pushed by an authenticated client (RFC 9126 2): its parameters (JSON)
    under the SHA-256 of the `request_uri` handed out; used once at the authorization endpoint
    (`used_at`) before `expires_at`. Expired rows of the tenant are purged on the next push."""

    __tablename__ = "oidc_pushed_requests"
    __table_args__ = (Index("ix_oidc_pushed_requests_expires", "tenant_id", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"), nullable=False)
    request_uri_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    parameters: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    used_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
