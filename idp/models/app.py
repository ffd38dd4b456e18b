from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.platform.extensions import db

PROTOCOL_OIDC = "oidc"
PROTOCOL_SAML = "saml"
PROTOCOL_LINK = "link"

# Portal tile colours, in the order of the `tile-N` classes of style.css ("" = by position).
TILE_COLORS = ("blue", "green", "orange", "purple", "red", "slate")

# OIDC token lifetimes (seconds): the defaults of every app, and the range an admin may choose.
ACCESS_TOKEN_SECONDS = 3600
ID_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 30 * 86400

group_apps = Table(
    "group_apps",
    db.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("app_id", ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
)


class App(db.Model):
    """A relying party (OIDC client or SAML SP); protocol details live in the protocol packages.

    The token lifetimes are read by the OIDC token code only (they stay at their defaults for SAML
    and link apps)."""

    __tablename__ = "apps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    protocol: Mapped[str] = mapped_column(String(10), nullable=False, default=PROTOCOL_LINK)
    launch_url: Mapped[str] = mapped_column(String(2000), nullable=False, default="")
    icon: Mapped[str] = mapped_column(String(8), nullable=False, default="", server_default="")  # "" = initial
    color: Mapped[str] = mapped_column(String(10), nullable=False, default="", server_default="")  # TILE_COLORS
    access_token_seconds: Mapped[int] = mapped_column(
        Integer, nullable=False, default=ACCESS_TOKEN_SECONDS, server_default=str(ACCESS_TOKEN_SECONDS))
    id_token_seconds: Mapped[int] = mapped_column(
        Integer, nullable=False, default=ID_TOKEN_SECONDS, server_default=str(ID_TOKEN_SECONDS))
    refresh_token_seconds: Mapped[int] = mapped_column(
        Integer, nullable=False, default=REFRESH_TOKEN_SECONDS, server_default=str(REFRESH_TOKEN_SECONDS))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    # The catalog preset the app was added from (idp.catalog) and the admin's inputs (JSON); None otherwise
    preset: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    preset_inputs: Mapped[Optional[str]] = mapped_column(Text, nullable=True)

    groups = relationship("Group", secondary=group_apps, back_populates="apps")

    @property
    def access_token_lifetime(self):
        return timedelta(seconds=self.access_token_seconds or ACCESS_TOKEN_SECONDS)

    @property
    def id_token_lifetime(self):
        return timedelta(seconds=self.id_token_seconds or ID_TOKEN_SECONDS)

    @property
    def refresh_token_lifetime(self):
        return timedelta(seconds=self.refresh_token_seconds or REFRESH_TOKEN_SECONDS)

    @property
    def color_index(self):
        """The `tile-N` class of the chosen colour, or None (then the portal picks by position)."""
        return TILE_COLORS.index(self.color) if self.color in TILE_COLORS else None
