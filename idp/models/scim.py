"""The SCIM server's tables: bearer tokens of a tenant's SCIM endpoint, and the externalId a SCIM client
gave a user or group (kept here so the accounts and groups tables stay as they are)."""
from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.platform.extensions import db

SCOPE_READ = "read"
SCOPE_WRITE = "write"
SCOPES = (SCOPE_READ, SCOPE_WRITE)


class ScimToken(db.Model):
    """A bearer token of `/t/<tenant>/scim/v2`; only its keyed digest is stored (idp.provisioning.scim_tokens)."""

    __tablename__ = "scim_tokens"
    __table_args__ = (Index("ix_scim_tokens_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    scope: Mapped[str] = mapped_column(String(10), nullable=False)
    created_by: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    last_used_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime)


USER, GROUP = "User", "Group"  # ScimExternalId.resource_type


class ScimExternalId(db.Model):
    """The externalId a SCIM client set on a User (resource_id = account subject) or Group (group id)."""

    __tablename__ = "scim_external_ids"
    __table_args__ = (
        UniqueConstraint("tenant_id", "resource_type", "resource_id", name="uq_scim_external_ids_resource"),
        Index("ix_scim_external_ids_value", "tenant_id", "resource_type", "external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    resource_type: Mapped[str] = mapped_column(String(10), nullable=False)  # User, Group
    resource_id: Mapped[str] = mapped_column(String(64), nullable=False)
    external_id: Mapped[str] = mapped_column(String(255), nullable=False)
