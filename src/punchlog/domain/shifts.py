"""Shifts, their instances on a date, and which instance a punch belongs to.

For a punch on local date D, the employee's instances starting on D-1, D and D+1 are built,
each with a window ``[start - checkin_before, end + checkout_after]``. Where two consecutive
windows overlap, the later one starts at the earlier one's ``end`` (and the earlier one ends
there, so no instant belongs to two windows). The punch belongs to the instance whose window
holds it; the work date is that instance's start date. Shift wall times are read in the
tenant's zone with the same DST rule as punches (fold=0), so an instance across a DST change
is as long as its instants say.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

FIRST_LAST = "first_last"
PAIRS = "pairs"
HOURS_MODES = (FIRST_LAST, PAIRS)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Shift:
    code: str
    start: time
    end: time  # end <= start: the shift ends the next day
    checkin_before: timedelta = timedelta(minutes=60)
    checkout_after: timedelta = timedelta(minutes=60)
    late_grace: timedelta = timedelta(0)
    early_grace: timedelta = timedelta(0)
    half_day_below: timedelta | None = None
    absent_below: timedelta | None = None
    hours_mode: str = FIRST_LAST
    weekly_offs: frozenset[int] = field(default_factory=frozenset)  # 0 = Monday

    @property
    def overnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True, slots=True)
class Instance:
    """A shift on one work date, as instants (aware UTC)."""

    shift: Shift
    work_date: date
    start: datetime
    end: datetime
    window_start: datetime
    window_end: datetime

    def holds(self, instant: datetime) -> bool:
        """Closed window, as the spec writes it; where two windows meet, callers look at the
        later instance first, so the shared instant goes to the later one."""
        return self.window_start <= instant <= self.window_end

    @property
    def scheduled(self) -> timedelta:
        return self.end - self.start


def _at(day: date, wall: time, zone: tzinfo) -> datetime:
    return datetime.combine(day, wall).replace(tzinfo=zone, fold=0).astimezone(UTC)


@lru_cache(maxsize=8192)
def instance_of(shift: Shift, work_date: date, zone: tzinfo) -> Instance:
    """The shift on ``work_date`` (memoised: every employee on a shift shares its instances)."""
    start = _at(work_date, shift.start, zone)
    end_day = work_date + timedelta(days=1) if shift.overnight else work_date
    end = _at(end_day, shift.end, zone)
    return Instance(
        shift=shift,
        work_date=work_date,
        start=start,
        end=end,
        window_start=start - shift.checkin_before,
        window_end=end + shift.checkout_after,
    )


def trim_overlaps(instances: Sequence[Instance]) -> list[Instance]:
    """Consecutive instances (ordered by start): a later window starts at the earlier end."""
    ordered = sorted(instances, key=lambda i: i.start)
    result: list[Instance] = []
    for current in ordered:
        if result and current.window_start < result[-1].window_end:
            earlier = result[-1]
            boundary = max(earlier.end, current.window_start)
            boundary = min(boundary, current.start)
            result[-1] = replace(earlier, window_end=boundary)
            current = replace(current, window_start=boundary)
        result.append(current)
    return result


ShiftOn = Callable[[date], Shift | None]


def instances_around(day: date, shift_on: ShiftOn, zone: tzinfo) -> list[Instance]:
    """The instances starting on day-1, day and day+1 (where there is a shift), trimmed."""
    built = []
    for offset in (-1, 0, 1):
        work_date = day + timedelta(days=offset)
        shift = shift_on(work_date)
        if shift is not None:
            built.append(instance_of(shift, work_date, zone))
    return trim_overlaps(built)


def attribute(
    instant: datetime, local_day: date, shift_on: ShiftOn, zone: tzinfo
) -> Instance | None:
    """The instance whose window holds ``instant``; ``None`` for an off-shift punch."""
    for candidate in reversed(instances_around(local_day, shift_on, zone)):
        if candidate.holds(instant):
            return candidate
    return None


def parse_weekly_offs(text: str) -> frozenset[int]:
    """``"sat,sun"`` → {5, 6}; raises ValueError on an unknown day."""
    days: set[int] = set()
    for part in text.split(","):
        name = part.strip().lower()[:3]
        if not name:
            continue
        if name not in WEEKDAYS:
            raise ValueError(f"Unknown weekday {part.strip()!r}: use mon,tue,...,sun")
        days.add(WEEKDAYS.index(name))
    return frozenset(days)


def format_weekly_offs(days: frozenset[int]) -> str:
    return ",".join(WEEKDAYS[d] for d in sorted(days))
