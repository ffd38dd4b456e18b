"""Multi-factor authentication: policy, enrolled factors, recovery codes, SMS codes, half-done logins.

Secrets are never stored in clear: TOTP secrets encrypted (idp.platform.encryption),
codes and tokens as keyed digests (idp.mfa_secrets).
"""
from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.platform.extensions import db


class MfaPolicy(db.Model):
    """The MFA mode of a tenant (group_id NULL) or the override of one of its groups."""

    __tablename__ = "mfa_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "group_id", name="uq_mfa_policies_tenant_group"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    group_id: Mapped[Optional[int]] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(10), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class MfaFactor(db.Model):
    """The confirmed second factor of an account (one per account): TOTP or SMS."""

    __tablename__ = "mfa_factors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False,
                                            unique=True)
    method: Mapped[str] = mapped_column(String(10), nullable=False)
    totp_secret: Mapped[Optional[str]] = mapped_column(Text)  # encrypted
    totp_last_step: Mapped[Optional[int]] = mapped_column(BigInteger)  # replay protection
    phone: Mapped[str] = mapped_column(String(20), nullable=False, default="")  # E.164
    enrolled_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class MfaRecoveryCode(db.Model):
    __tablename__ = "mfa_recovery_codes"
    __table_args__ = (Index("ix_mfa_recovery_codes_account", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    used_at: Mapped[Optional[datetime]] = mapped_column(DateTime)


class MfaSmsCode(db.Model):
    __tablename__ = "mfa_sms_codes"
    __table_args__ = (Index("ix_mfa_sms_codes_account", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    phone: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    used_at: Mapped[Optional[datetime]] = mapped_column(DateTime)


class MfaPendingLogin(db.Model):
    """A half-done login: password accepted, second factor pending (10 minutes at most).

    The browser holds a random token (in its form-session cookie); the table its digest.
    `method`, `phone` and `totp_secret` (encrypted) hold an enrolment in progress.
    `factor_verified_at`: the enrolled factor was checked, and the policy asks for another method,
    which is being enrolled now (a switch of method needs the old factor first).
    """

    __tablename__ = "mfa_pending_logins"
    __table_args__ = (Index("ix_mfa_pending_logins_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    next_url: Mapped[str] = mapped_column(String(2000), nullable=False, default="/")
    method: Mapped[str] = mapped_column(String(10), nullable=False, default="")
    phone: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    totp_secret: Mapped[Optional[str]] = mapped_column(Text)
    sms_sent_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    factor_verified_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    account = relationship("Account")
