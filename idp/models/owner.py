"""Owner-side rows: the owner's SSO sessions, its emailed links, and pending sign-ups.

Like accounts, only SHA-256 digests of cookies and link tokens are stored.
"""
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.models.tokens import LinkToken
from idp.platform.extensions import db


class OwnerSession(db.Model):
    """A contract-login session (cookie `idp_owner`, path /contract, 10 h)."""

    __tablename__ = "owner_sessions"
    __table_args__ = (Index("ix_owner_sessions_owner", "owner_id", "ended_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    end_reason: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    ip: Mapped[str] = mapped_column(String(45), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(String(400), nullable=False, default="")

    owner = relationship("Owner")


class OwnerToken(LinkToken, db.Model):
    """A single-use emailed link of an owner: activation (24 h), password reset (30 min), hand-over (24 h).

    `payload` holds what the link carries beyond the owner (the new owner's email and name for a hand-over).
    """

    __tablename__ = "owner_tokens"
    __table_args__ = (Index("ix_owner_tokens_owner_purpose", "owner_id", "purpose"),)

    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), nullable=False)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)

    owner = relationship("Owner")


class SignupRequest(db.Model):
    """A sign-up waiting for its email verification; no tenant exists until the link is used."""

    __tablename__ = "signup_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    company_name: Mapped[str] = mapped_column(String(200), nullable=False)
    owner_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    owner_email: Mapped[str] = mapped_column(String(254), nullable=False)
    admin_email: Mapped[str] = mapped_column(String(254), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    used_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    tenant_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tenants.id", ondelete="SET NULL"))
