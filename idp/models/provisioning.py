"""Pushing account changes to apps over SCIM (idp.provisioning): each app's target, the queue, remote ids."""
from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.platform.extensions import db

DEACTIVATE, DELETE = "deactivate", "delete"
DEPROVISION_ACTIONS = (DEACTIVATE, DELETE)
UPSERT, DEPROVISION, RECONCILE = "upsert", "deprovision", "reconcile"
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
RECONCILE_SUBJECT = "*"  # the `subject` of a full reconciliation's row


class ProvisioningTarget(db.Model):
    """An app's SCIM server: base URL, bearer token (encrypted, idp.platform.encryption), whether changes are
    pushed, what happens to an account that may no longer use the app (`deactivate`: active false; `delete`).
    `last_sync_at`/`last_error`: the last delivery that went through, the last one that did not."""

    __tablename__ = "provisioning_targets"

    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)
    base_url: Mapped[str] = mapped_column(String(2000), nullable=False, default="")
    token: Mapped[Optional[str]] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    deprovision: Mapped[str] = mapped_column(String(10), nullable=False, default=DEACTIVATE)
    last_sync_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    last_error: Mapped[Optional[str]] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class ProvisioningChange(db.Model):
    """One change to push to one app: `upsert` (the account's state at send time), `deprovision` (`payload`:
    the JSON of what finds the remote user when the account is gone) or `reconcile` (a full sync).
    Rows of one (app, subject) are sent in (`sequence`, id) order; `state` as in idp.platform.outbox."""

    __tablename__ = "provisioning_changes"
    __table_args__ = (
        Index("ix_provisioning_changes_due", "state", "next_attempt_at"),
        Index("ix_provisioning_changes_order", "app_id", "subject", "sequence"),
        Index("ix_provisioning_changes_app_state", "app_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    subject: Mapped[str] = mapped_column(String(64), nullable=False)
    operation: Mapped[str] = mapped_column(String(12), nullable=False)
    payload: Mapped[Optional[str]] = mapped_column(Text)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    claimed_by: Mapped[Optional[str]] = mapped_column(String(100))
    claimed_until: Mapped[Optional[datetime]] = mapped_column(DateTime)
    last_error: Mapped[Optional[str]] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    sent_at: Mapped[Optional[datetime]] = mapped_column(DateTime)


class ProvisioningRemoteId(db.Model):
    """The id an app's SCIM server gave an account's user (kept after a create or a match)."""

    __tablename__ = "provisioning_remote_ids"

    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    remote_id: Mapped[str] = mapped_column(String(255), nullable=False)
