"""The day record: from a work date's punches to status, hours, late, early and overtime.

Pure: punches, the shift instance (or none), the day type and the tenant's bounce interval
come in; a :class:`Day` comes out. ``provisional`` is not decided here: it depends only on
``now`` versus the instance's window end, so readers compute it when they read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from punchlog.domain.shifts import FIRST_LAST, Instance

IN, OUT = "in", "out"
WORKING_DAY, WEEKLY_OFF, HOLIDAY = "working_day", "weekly_off", "holiday"
PRESENT, HALF_DAY, ABSENT, MISSING_PUNCH = "present", "half_day", "absent", "missing_punch"
STATUS_CODES = {
    PRESENT: "P",
    HALF_DAY: "HD",
    ABSENT: "A",
    MISSING_PUNCH: "MP",
    WEEKLY_OFF: "WO",
    HOLIDAY: "H",
}
# Why a punch did not count.
BOUNCE, OFF_SHIFT, EXCLUDED = "bounce", "off_shift", "excluded"


@dataclass(frozen=True, slots=True)
class Punch:
    id: int
    instant: datetime  # aware UTC
    direction: str  # effective: after the device's direction
    status: int  # raw, as sent
    device: str | None
    source: str
    excluded: bool = False
    off_shift: bool = False
    bounced: bool = False  # decided over all the employee's punches (see find_bounces)


@dataclass(frozen=True, slots=True)
class CountedPunch:
    punch: Punch
    counted: bool
    reason: str | None  # bounce / off_shift / excluded when not counted


@dataclass(frozen=True, slots=True)
class Day:
    work_date: date
    day_type: str
    shift: str | None
    first_in: datetime | None
    last_out: datetime | None
    gross: timedelta
    effective: timedelta
    breaks: timedelta
    late_by: timedelta
    early_by: timedelta
    overtime: timedelta
    status: str | None  # None: a no-shift day without usable punches
    window_end: datetime | None
    punches: tuple[CountedPunch, ...] = field(default_factory=tuple)


def effective_direction(device_direction: str, status: int) -> str:
    """An IN-only device makes every punch IN, OUT-only OUT; ``both`` trusts the status."""
    if device_direction in (IN, OUT):
        return device_direction
    return IN if status == 0 else OUT


def find_bounces(punches: Sequence[Punch], bounce: timedelta) -> set[int]:
    """Ids of bounces: a punch with the same direction as the previous kept (not excluded, not
    bounced) punch of the employee, less than ``bounce`` after it — across work dates."""
    bounced: set[int] = set()
    previous: Punch | None = None
    for punch in sorted(punches, key=lambda p: (p.instant, p.id)):
        if punch.excluded:
            continue
        if (
            previous is not None
            and previous.direction == punch.direction
            and punch.instant - previous.instant < bounce
        ):
            bounced.add(punch.id)
            continue
        previous = punch
    return bounced


def mark_counted(punches: Sequence[Punch], bounce: timedelta) -> list[CountedPunch]:
    """Excluded, off-shift and bounced punches do not count (in that order of reasons)."""
    bounced = find_bounces(punches, bounce)
    result: list[CountedPunch] = []
    for punch in sorted(punches, key=lambda p: (p.instant, p.id)):
        if punch.excluded:
            result.append(CountedPunch(punch, False, EXCLUDED))
        elif punch.off_shift:
            result.append(CountedPunch(punch, False, OFF_SHIFT))
        elif punch.bounced or punch.id in bounced:
            result.append(CountedPunch(punch, False, BOUNCE))
        else:
            result.append(CountedPunch(punch, True, None))
    return result


def walk_pairs(punches: Sequence[Punch]) -> list[tuple[datetime, datetime]]:
    """IN→OUT pairs in time order: an IN while in is ignored, an OUT while out is unpaired."""
    pairs: list[tuple[datetime, datetime]] = []
    opened: datetime | None = None
    for punch in punches:
        if punch.direction == IN:
            if opened is None:
                opened = punch.instant
        elif opened is not None:
            pairs.append((opened, punch.instant))
            opened = None
    return pairs


def compute_day(
    work_date: date,
    punches: Sequence[Punch],
    *,
    instance: Instance | None,
    day_type: str,
    bounce: timedelta = timedelta(seconds=60),
) -> Day:
    """The record of one (employee, work date)."""
    marked = mark_counted(punches, bounce)
    counted = [m.punch for m in marked if m.counted]
    ins = [p.instant for p in counted if p.direction == IN]
    outs = [p.instant for p in counted if p.direction == OUT]
    first_in = min(ins) if ins else None
    last_out = max(outs) if outs else None
    zero = timedelta(0)
    gross = last_out - first_in if first_in and last_out and last_out > first_in else zero
    pairs = walk_pairs(counted)
    effective = sum((b - a for a, b in pairs), zero)
    breaks = sum((pairs[i + 1][0] - pairs[i][1] for i in range(len(pairs) - 1)), zero)

    late = early = overtime = zero
    status: str | None
    if instance is None:
        status = None if not counted else (PRESENT if gross > zero else MISSING_PUNCH)
        return Day(
            work_date,
            day_type,
            None,
            first_in,
            last_out,
            gross,
            effective,
            breaks,
            zero,
            zero,
            zero,
            status,
            None,
            tuple(marked),
        )

    shift = instance.shift
    worked = gross if shift.hours_mode == FIRST_LAST else effective
    usable = gross > zero if shift.hours_mode == FIRST_LAST else bool(pairs)
    working = day_type == WORKING_DAY
    if working:
        if first_in is not None and first_in > instance.start + shift.late_grace:
            late = first_in - instance.start
        if last_out is not None and last_out < instance.end - shift.early_grace:
            early = instance.end - last_out
        overtime = max(worked - instance.scheduled, zero)
    else:
        overtime = worked

    if not counted:
        status = ABSENT if working else day_type
    elif not usable:
        status = MISSING_PUNCH
    elif working and shift.absent_below is not None and worked < shift.absent_below:
        status = ABSENT
    elif working and shift.half_day_below is not None and worked < shift.half_day_below:
        status = HALF_DAY
    else:
        status = PRESENT
    return Day(
        work_date,
        day_type,
        shift.code,
        first_in,
        last_out,
        gross,
        effective,
        breaks,
        late,
        early,
        overtime,
        status,
        instance.window_end,
        tuple(marked),
    )
