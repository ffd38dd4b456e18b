from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.platform.extensions import db


class SsoSession(db.Model):
    """A server-side SSO session; the cookie holds a random token, the table its SHA-256."""

    __tablename__ = "sso_sessions"
    __table_args__ = (Index("ix_sso_sessions_account", "account_id", "ended_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    sid: Mapped[str] = mapped_column(String(43), nullable=False, unique=True)  # public session id (OIDC sid)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    auth_time: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    amr: Mapped[str] = mapped_column(String(64), nullable=False, default="pwd")  # space-separated
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    end_reason: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    ip: Mapped[str] = mapped_column(String(45), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(String(400), nullable=False, default="")

    account = relationship("Account")
