from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.platform.extensions import db


class LinkToken:
    """The columns of a single-use emailed link of an account or an owner; only the token's SHA-256 is stored.

    `sort_order` keeps the tables' column order: these four (-1), the holder's own columns (0), the times (1).
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-1)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True, sort_order=-1)
    purpose: Mapped[str] = mapped_column(String(32), nullable=False, sort_order=-1)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False,
                                           sort_order=-1)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, sort_order=1)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, sort_order=1)
    used_at: Mapped[Optional[datetime]] = mapped_column(DateTime, sort_order=1)


class ActionToken(LinkToken, db.Model):
    """An account's emailed link: activation or password reset."""

    __tablename__ = "action_tokens"
    __table_args__ = (Index("ix_action_tokens_account_purpose", "account_id", "purpose"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)

    account = relationship("Account")
