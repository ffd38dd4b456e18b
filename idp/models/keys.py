"""The signing_keys table: one row per key, private half encrypted at rest."""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.platform.extensions import db


class SigningKey(db.Model):
    """A tenant's signing key. It signs from `activates_at` until a newer key of the same
    algorithm activates (its retirement); it stays published (JWKS, SAML metadata) from
    `created_at` until retirement + the retention period, so every token it signed keeps verifying."""

    __tablename__ = "signing_keys"
    __table_args__ = (Index("ix_signing_keys_tenant_alg", "tenant_id", "alg", "activates_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    kid: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    alg: Mapped[str] = mapped_column(String(10), nullable=False)  # RS256 | ES256
    private_key: Mapped[str] = mapped_column(Text, nullable=False)  # PKCS#8 PEM, Fernet-encrypted
    public_jwk: Mapped[str] = mapped_column(Text, nullable=False)  # JSON
    certificate: Mapped[str] = mapped_column(Text, nullable=False, default="")  # X.509 PEM (RSA, for SAML)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    activates_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
