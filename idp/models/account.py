from datetime import date, datetime
from typing import Optional

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.platform.extensions import db

ROLE_ADMIN = "admin"
ROLE_USER = "user"
ROLES = (ROLE_USER, ROLE_ADMIN)
STATUS_ENABLED = "enabled"
STATUS_DISABLED = "disabled"
STATUSES = (STATUS_ENABLED, STATUS_DISABLED)


class Account(db.Model):
    """A staff member of a tenant; `email` is the login ID, unique within the tenant (case-insensitive).

    The same address may be an account in several tenants, each independent of the others (issue 14):
    `/t/{tenant}/login` and the protocols sign in the tenant's own account, `/login` lets the person pick.
    """

    __tablename__ = "accounts"
    __table_args__ = (
        Index("ix_accounts_tenant_name", "tenant_id", "name"),
        Index("ix_accounts_tenant_group", "tenant_id", "group_id"),
        # admin console search (idp/console/account_search.py): sort keys and the selective filters
        Index("ix_accounts_tenant_email", "tenant_id", "email_normalized", unique=True),
        Index("ix_accounts_email", "email_normalized"),  # /login and /password/forgot: every tenant's account
        Index("ix_accounts_tenant_created", "tenant_id", "created_at"),
        Index("ix_accounts_tenant_last_login", "tenant_id", "last_login_at"),
        Index("ix_accounts_tenant_locked", "tenant_id", "locked_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), nullable=False)
    subject: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    email_normalized: Mapped[str] = mapped_column(String(254), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    phone: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    mobile: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    organization: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    department: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    role: Mapped[str] = mapped_column(String(10), nullable=False, default="user")
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="enabled")
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[Optional[date]] = mapped_column(Date)
    password_hash: Mapped[Optional[str]] = mapped_column(String(255))
    activated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    failed_login_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    last_login_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    previous_login_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    tenant = relationship("Tenant")
    group = relationship("Group")

    @property
    def is_admin(self):
        return self.role == ROLE_ADMIN
