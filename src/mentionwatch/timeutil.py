"""Time in one form everywhere: aware UTC datetimes inside, ISO 8601 with ``Z`` outside."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.I)
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)  # what --since/--until accept
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def to_iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse_duration(value: str) -> timedelta | None:
    m = _DURATION.match(value)
    if not m:
        return None
    try:
        return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2).lower()])
    except OverflowError:
        return None  # "99999999999w" is no duration anyone means: say it cannot be read


def parse_when(value: str, *, option: str = "--since", now: datetime | None = None) -> datetime:
    """``24h``, ``7d``, ``30m``, ``2w`` (ago), or an ISO date/datetime (UTC if no offset)."""
    now = now or utcnow()
    try:
        if (delta := parse_duration(value)) is not None:
            dt = now - delta
        else:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    except ValueError:
        raise ConfigError(
            f"{option}: cannot read {value!r}: use a duration like 24h, 7d, 30m, 2w "
            "or a date like 2026-11-20 or 2026-11-20T08:00:00Z"
        ) from None
    except OverflowError:
        dt = datetime.min.replace(tzinfo=UTC)  # reported just below
    # Periods and their predecessors are computed from these: keep them far from the
    # ends of what datetime can hold.
    if not EARLIEST <= dt <= LATEST:
        raise ConfigError(
            f"{option}: {value!r} is out of range: give a time between "
            f"{EARLIEST.year} and {LATEST.year}"
        )
    return dt
