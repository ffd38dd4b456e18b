from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.platform.extensions import db


class UnknownLoginFailure(db.Model):
    """Failure counter for login IDs that match no account, so they lock like real ones.

    Keyed by the SHA-256 of the normalised email; rows older than the lock period are purged.
    """

    __tablename__ = "unknown_login_failures"

    login_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed_login_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
