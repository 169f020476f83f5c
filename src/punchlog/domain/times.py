"""Timestamps as devices send them, and how wall times become instants.

The DST rule (documented in the README): a wall time read in a zone is taken with
``fold=0`` (PEP 495):

* in an **overlap** (the clock goes back) the *earlier* of the two instants is meant;
* in a **gap** (the clock goes forward) the offset in force *before* the change is used, so
  ``02:30`` in a 02:00→03:00 gap is the instant the clock shows as ``03:30``.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache

_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):?([0-9]{2}))?"
)


@dataclass(frozen=True, slots=True)
class Timestamp:
    """A parsed timestamp: the wall time as sent (whole seconds) and its offset, if any."""

    wall: datetime  # naive
    offset: timedelta | None


def parse_timestamp(text: str) -> Timestamp | None:
    """Parse ISO 8601 as devices send it; ``None`` when it is not one.

    ``YYYY-MM-DDTHH:MM:SS`` with ``T`` or a space, an optional fraction (truncated: devices
    resend one punch with different milliseconds) and an optional ``Z`` / ``±HH:MM`` offset.
    """
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.group(1, 2, 3, 4, 5, 6))
    try:
        wall = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    offset: timedelta | None = None
    if match.group(8):
        offset = timedelta(0)
    elif match.group(9):
        hours, minutes = int(match.group(10)), int(match.group(11))
        if hours > 23 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        if match.group(9) == "-":
            offset = -offset
    return Timestamp(wall=wall, offset=offset)


def to_instant(stamp: Timestamp, zone: tzinfo) -> datetime:
    """The UTC instant a timestamp means: its own offset wins, else ``zone`` (fold=0).

    Raises ``OverflowError`` when the instant falls outside years 1-9999."""
    if stamp.offset is not None:
        return (stamp.wall - stamp.offset).replace(tzinfo=UTC)
    return stamp.wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def local_offset(local_wall: datetime, instant: datetime) -> timezone:
    """The fixed offset that turns ``instant`` back into ``local_wall`` (derivable, not stored)."""
    return timezone(local_wall - instant.replace(tzinfo=None))


def local_isoformat(local_wall: datetime, instant: datetime) -> str:
    """``2026-12-03T15:43:06+05:30``: the wall time as the device meant it, with its offset."""
    return local_wall.replace(tzinfo=local_offset(local_wall, instant)).isoformat()


def utc_isoformat(instant: datetime) -> str:
    """``2026-12-03T10:13:06Z``."""
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


@lru_cache(maxsize=512)
def load_zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone ``name``; raises ``ValueError`` for a name that is not one."""
    if not name or name != name.strip() or ".." in name or name.startswith("/"):
        raise ValueError(f"Unknown time zone {name!r}")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a folder
        raise ValueError(f"Unknown time zone {name!r}") from exc
