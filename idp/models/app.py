from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

PROTOCOL_OIDC = "oidc"
PROTOCOL_SAML = "saml"
PROTOCOL_LINK = "link"

group_apps = Table(
    "group_apps",
    db.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("app_id", ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
)


class App(db.Model):
    """A relying party (OIDC client or SAML SP); protocol details live in the protocol packages."""

    __tablename__ = "apps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    protocol: Mapped[str] = mapped_column(String(10), nullable=False, default=PROTOCOL_LINK)
    launch_url: Mapped[str] = mapped_column(String(2000), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)

    groups = relationship("Group", secondary=group_apps, back_populates="apps")
