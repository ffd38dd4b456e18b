"""SAML 2.0: registered service providers, persistent NameIDs, seen requests, session participants.

An SP is an `App` row (protocol "saml": portal tile, group assignment) plus a
`SamlServiceProvider` row. Persistent NameIDs are random, opaque and stable per (SP, account).
`SamlParticipant` records which SPs an SSO session signed into (Single Logout propagation).
"""
import json
from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.platform.extensions import db


class SamlServiceProvider(db.Model):
    __tablename__ = "saml_service_providers"
    __table_args__ = (UniqueConstraint("tenant_id", "entity_id", name="uq_saml_sp_entity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), nullable=False, unique=True)
    entity_id: Mapped[str] = mapped_column(String(1024), nullable=False)
    acs_endpoints: Mapped[str] = mapped_column(Text, nullable=False)  # JSON [{"url", "index", "default"}]
    slo_url: Mapped[str] = mapped_column(String(2000), nullable=False, default="")
    # how our LogoutRequests/LogoutResponses reach slo_url: redirect (HTTP-Redirect) | post (HTTP-POST)
    slo_binding: Mapped[str] = mapped_column(String(10), nullable=False, default="redirect",
                                             server_default="redirect")
    signing_cert: Mapped[str] = mapped_column(Text, nullable=False, default="")  # PEM, verifies its requests
    encryption_cert: Mapped[str] = mapped_column(Text, nullable=False, default="")  # PEM: assertions encrypted
    # content encryption of the assertion (RSA-OAEP key transport): aes256-gcm | aes256-cbc (older SPs)
    encryption_algorithm: Mapped[str] = mapped_column(String(20), nullable=False, default="aes256-gcm",
                                                      server_default="aes256-gcm")
    nameid_format: Mapped[str] = mapped_column(String(20), nullable=False, default="email")
    sign: Mapped[str] = mapped_column(String(10), nullable=False, default="both")  # response|assertion|both
    requests_signed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    attribute_preset: Mapped[str] = mapped_column(String(20), nullable=False, default="basic")
    attribute_map: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # JSON {ours: their name}
    relay_state: Mapped[str] = mapped_column(String(80), nullable=False, default="")  # IdP-initiated
    # where the SP publishes its metadata ("" = none): the console's 取得 and refresh read it (idp.saml.metadata_fetch)
    metadata_url: Mapped[str] = mapped_column(String(2000), nullable=False, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    app = relationship("App")

    @property
    def acs_list(self):
        return json.loads(self.acs_endpoints)

    @property
    def attribute_names(self):
        return json.loads(self.attribute_map or "{}")


class SamlPersistentId(db.Model):
    __tablename__ = "saml_persistent_ids"
    __table_args__ = (UniqueConstraint("sp_id", "account_id", name="uq_saml_persistent_account"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    sp_id: Mapped[int] = mapped_column(ForeignKey("saml_service_providers.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    value: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class SamlSeenRequest(db.Model):
    """Request IDs already answered, kept until they would have expired anyway (replay check)."""

    __tablename__ = "saml_seen_requests"
    __table_args__ = (UniqueConstraint("sp_id", "request_id", name="uq_saml_seen_request"),
                      Index("ix_saml_seen_expires", "tenant_id", "expires_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    sp_id: Mapped[int] = mapped_column(ForeignKey("saml_service_providers.id", ondelete="CASCADE"), nullable=False)
    request_id: Mapped[str] = mapped_column(String(256), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class SamlParticipant(db.Model):
    """An SP that an SSO session signed into, with the NameID and SessionIndex it was given."""

    __tablename__ = "saml_participants"
    __table_args__ = (UniqueConstraint("sso_session_id", "sp_id", name="uq_saml_participant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    sso_session_id: Mapped[int] = mapped_column(ForeignKey("sso_sessions.id", ondelete="CASCADE"), nullable=False)
    sp_id: Mapped[int] = mapped_column(ForeignKey("saml_service_providers.id", ondelete="CASCADE"), nullable=False)
    name_id: Mapped[str] = mapped_column(String(256), nullable=False)
    name_id_format: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    logged_out_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    sp = relationship("SamlServiceProvider")
    sso_session = relationship("SsoSession")

    @property
    def session_index(self):
        return self.sso_session.sid
