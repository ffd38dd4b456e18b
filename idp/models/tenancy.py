from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.platform.extensions import db

TENANT_ACTIVE = "active"
TENANT_TERMINATED = "terminated"
PLAN_FREE = "free"


class Tenant(db.Model):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True, nullable=False)
    company_name: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=TENANT_ACTIVE)
    plan: Mapped[str] = mapped_column(String(20), nullable=False, default=PLAN_FREE)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    terminated_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    groups = relationship("Group", back_populates="tenant", cascade="all, delete-orphan")

    @property
    def is_active(self):
        return self.status == TENANT_ACTIVE


class Group(db.Model):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_groups_tenant_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    tenant = relationship("Tenant", back_populates="groups")
    apps = relationship("App", secondary="group_apps", back_populates="groups", order_by="App.name")


class Owner(db.Model):
    """The contract holder (契約者): one per tenant, separate from accounts."""

    __tablename__ = "owners"
    __table_args__ = (Index("ix_owners_email_normalized", "email_normalized"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, unique=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    email_normalized: Mapped[str] = mapped_column(String(254), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    password_hash: Mapped[Optional[str]] = mapped_column(String(255))
    activated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    failed_login_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    last_login_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    tenant = relationship("Tenant")


class ConfigCacheVersion(db.Model):
    """Bumped in the same transaction as any change to a tenant's cached configuration (the tenant,
    its apps, groups, OIDC clients, signing keys), so every worker drops its copies (idp.platform.config_cache)."""

    __tablename__ = "config_cache_versions"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=1)  # random 62-bit values
