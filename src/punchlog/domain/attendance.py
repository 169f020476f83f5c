"""One employee's days: attribute punches to work dates, then compute each day.

Which dates get a record: every date in the asked range on which the employee has a shift
(absent days included), and every date with punches — within the employment dates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo

from punchlog.domain.days import (
    HOLIDAY,
    WEEKLY_OFF,
    WORKING_DAY,
    Day,
    Punch,
    compute_day,
    find_bounces,
)
from punchlog.domain.shifts import Instance, Shift, instances_around


@dataclass(frozen=True, slots=True)
class Employment:
    joined_on: date | None = None
    left_on: date | None = None

    def covers(self, day: date) -> bool:
        if self.joined_on is not None and day < self.joined_on:
            return False
        return not (self.left_on is not None and day > self.left_on)


def local_date(instant: datetime, zone: tzinfo) -> date:
    return instant.astimezone(zone).date()


def dates_touched(instant: datetime, zone: tzinfo) -> tuple[date, date, date]:
    """The work dates a punch can belong to: its local date and the days either side."""
    day = local_date(instant, zone)
    return (day - timedelta(days=1), day, day + timedelta(days=1))


def day_type_of(day: date, shift: Shift | None, holidays: frozenset[date]) -> str:
    if day in holidays:
        return HOLIDAY
    if shift is not None and day.weekday() in shift.weekly_offs:
        return WEEKLY_OFF
    return WORKING_DAY


def build_days(
    dates: Iterable[date],
    punches: Sequence[Punch],
    *,
    shift_on: Callable[[date], Shift | None],
    zone: tzinfo,
    holidays: frozenset[date] = frozenset(),
    employment: Employment = Employment(),
    bounce: timedelta = timedelta(seconds=60),
) -> list[Day]:
    """The records for ``dates`` (those that exist), from every punch that may touch them.

    ``punches`` must include punches one day either side of the dates, so that night shifts
    and early check-ins are attributed correctly.
    """
    wanted = sorted(set(dates))
    around: dict[date, list[Instance]] = {}

    def instances_near(day: date) -> list[Instance]:
        if day not in around:
            around[day] = instances_around(day, shift_on, zone)
        return around[day]

    bounced = find_bounces(punches, bounce)  # over all the employee's punches, not per day
    by_date: dict[date, list[Punch]] = {}
    for punch in punches:
        if punch.id in bounced:
            punch = replace(punch, bounced=True)
        day = local_date(punch.instant, zone)
        owner = None
        for candidate in reversed(instances_near(day)):  # later first: it owns a shared edge
            if candidate.holds(punch.instant):
                owner = candidate
                break
        if owner is not None:
            by_date.setdefault(owner.work_date, []).append(punch)
        elif shift_on(day) is None:
            by_date.setdefault(day, []).append(punch)  # a no-shift day: counted
        else:
            by_date.setdefault(day, []).append(replace(punch, off_shift=True))

    days = []
    for day in wanted:
        if not employment.covers(day):
            continue
        shift = shift_on(day)
        day_punches = by_date.get(day, [])
        if shift is None and not day_punches:
            continue
        instance = None
        if shift is not None:  # built among its own neighbours, so its window is trimmed
            instance = next(i for i in instances_near(day) if i.work_date == day)
        days.append(
            compute_day(
                day,
                day_punches,
                instance=instance,
                day_type=day_type_of(day, shift, holidays),
                bounce=timedelta(0),  # bounces were decided above, across work dates
            )
        )
    return days
