"""Time source. Services take `now` explicitly; views ask `current_time()`.

All datetimes in the database are naive UTC (portable across SQLite and
PostgreSQL). Tests install a `FrozenClock` and advance it.
"""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


class SystemClock:
    def now(self):
        return utcnow()


class FrozenClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start=None):
        self._now = start or utcnow()

    def now(self):
        return self._now

    def advance(self, **delta):
        self._now = self._now + timedelta(**delta)
        return self._now


def current_time():
    return current_app.extensions["idp_clock"].now()


BUSINESS_TZ = ZoneInfo("Asia/Tokyo")


def local_date(now):
    """The calendar date in Japan at naive-UTC `now` (validity dates are Japanese dates)."""
    return now.replace(tzinfo=timezone.utc).astimezone(BUSINESS_TZ).date()
