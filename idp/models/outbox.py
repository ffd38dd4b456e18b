from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.platform.extensions import db


class OutboxMessage(db.Model):
    """One outgoing mail or SMS (the transactional outbox, idp.platform.outbox).

    `body` is the serialised message (mail: the RFC 5322 bytes; SMS: the text), encrypted with the
    key-encryption key (idp.platform.encryption): it carries one-time links and codes. It is wiped
    (None) once the message is delivered or given up; the metadata stays.
    `status`: pending (due at `next_attempt_at`), sending (claimed by `claimed_by` until `claimed_until`),
    sent, failed (given up at `give_up_at`).
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),  # the delivery sweep
        Index("ix_outbox_messages_tenant_status_time", "tenant_id", "status", "created_at"),  # admin's failures
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # mail, sms
    tenant_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(320), nullable=False)
    body: Mapped[Optional[str]] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    give_up_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    claimed_by: Mapped[Optional[str]] = mapped_column(String(100))
    claimed_until: Mapped[Optional[datetime]] = mapped_column(DateTime)
    last_error: Mapped[Optional[str]] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    sent_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
