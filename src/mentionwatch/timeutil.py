"""Time in one form everywhere: aware UTC datetimes inside, ISO 8601 with ``Z`` outside."""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime, timedelta

from .errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.I)
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)  # what --since/--until accept
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


# Zone names seen in feeds, in hours east of UTC: the set feedparser reads, so a date
# means the same whichever feed path read it. email.utils knows only a few of these and
# silently returns a naive (taken as UTC) time for the rest and for "+02:00".
_ZONE_HOURS = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0,
    "adt": -3, "ast": -4, "at": -4,
    "edt": -4, "est": -5, "et": -5,
    "cdt": -5, "cst": -6, "ct": -6,
    "mdt": -6, "mst": -7, "mt": -7,
    "pdt": -7, "pst": -8, "pt": -8,
    "a": -1, "n": 1, "m": -12, "y": 12,
    "met": 1, "mest": 2,
}  # fmt: skip
_NUMERIC_ZONE = re.compile(r"(?:gmt|utc?)?([+-])(\d{2}):?(\d{2})")
_COMMENT = re.compile(r"\s*\([^()]*\)\s*$")
_CLOCK = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")


def _zone_offset(token: str) -> timedelta | None:
    """The offset a trailing RFC 822 zone token names; None when it names no zone
    this reader knows (the caller must not guess UTC then)."""
    token = token.lower().removeprefix("etc/")
    if token in _ZONE_HOURS:
        return timedelta(hours=_ZONE_HOURS[token])
    m = _NUMERIC_ZONE.fullmatch(token)
    if m is None:
        return None
    offset = timedelta(hours=int(m[2]), minutes=int(m[3]))
    return -offset if m[1] == "-" else offset


def parse_rfc822(text: str) -> datetime | None:
    """An RFC 822 date ("Tue, 10 Jun 2003 04:00:00 +02:00") as aware UTC; None when
    unreadable or when its zone is one this reader does not know: a wrong hour
    trusted as UTC is worse than no date. No zone at all means UTC."""
    parts = email.utils.parsedate_tz(text)
    if parts is None:
        return None
    tokens = _COMMENT.sub("", text).split()  # "+0000 (UTC)": the zone is before the comment
    last = tokens[-1] if tokens else ""
    if _CLOCK.fullmatch(last):
        offset = timedelta(0)  # no zone given: UTC, as feedparser takes it
    else:
        found = _zone_offset(last)
        if found is None:
            return None
        offset = found
    try:
        naive = datetime(*parts[:6])
        return (naive - offset).replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


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
