"""Append-only audit and login events (never updated; purged after the retention period)."""
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.platform.extensions import db


class RetainedEvent:
    """The columns every event has: the tenant (may be None), the client (ip, user agent) and the time.

    Both event tables are listed per tenant newest first and purged by `created_at` (`idp.logs.views`).
    `sort_order` keeps the tables' column order: id and tenant first, the event's own columns, client and time last.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-1)
    tenant_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), sort_order=-1)
    ip: Mapped[str] = mapped_column(String(45), nullable=False, default="", sort_order=1)
    user_agent: Mapped[str] = mapped_column(String(400), nullable=False, default="", sort_order=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, sort_order=1)


class AuditEvent(RetainedEvent, db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_tenant_time", "tenant_id", "created_at"),
        Index("ix_audit_events_tenant_action_time", "tenant_id", "action", "created_at"),
        Index("ix_audit_events_time", "created_at"),  # retention purge
    )

    actor_type: Mapped[str] = mapped_column(String(20), nullable=False)  # admin, owner, operator, user, system
    actor_id: Mapped[Optional[int]] = mapped_column(Integer)
    actor_label: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target_type: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    target_id: Mapped[Optional[int]] = mapped_column(Integer)
    target_label: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    changes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)


class LoginEvent(RetainedEvent, db.Model):
    __tablename__ = "login_events"
    __table_args__ = (
        Index("ix_login_events_tenant_time", "tenant_id", "created_at"),
        Index("ix_login_events_tenant_account_time", "tenant_id", "account_id", "created_at"),
        Index("ix_login_events_time", "created_at"),  # retention purge
    )

    account_id: Mapped[Optional[int]] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    login_id: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    app_id: Mapped[Optional[int]] = mapped_column(ForeignKey("apps.id", ondelete="SET NULL"))
    target: Mapped[str] = mapped_column(String(200), nullable=False, default="portal")
    # how: password; totp, sms or recovery (the password and that second factor); an app's oidc or saml
    protocol: Mapped[str] = mapped_column(String(10), nullable=False, default="password")
    result: Mapped[str] = mapped_column(String(10), nullable=False)  # success, failure
    reason: Mapped[str] = mapped_column(String(64), nullable=False, default="")
