"""Time helpers: the service runs on Europe/Paris wall-clock time, storage is UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

PARIS = ZoneInfo("Europe/Paris")


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def today_paris() -> date:
    """Return today's date in Paris."""
    return datetime.now(PARIS).date()


def paris_datetime(day: date, clock: time) -> datetime:
    """Combine a Paris date and wall-clock time into an aware datetime."""
    return datetime.combine(day, clock, tzinfo=PARIS)


def to_paris(moment: datetime) -> datetime:
    """Convert an aware datetime to Paris time."""
    return moment.astimezone(PARIS)


def parse_device_time(value: str | None) -> datetime | None:
    """Parse a phone's capture time (ISO 8601 with a zone); None when absent, bad or naive."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Store aware datetimes as naive UTC and hand them back aware.

    SQLite has no timezone type; normalising here keeps SQLite and PostgreSQL identical.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)
