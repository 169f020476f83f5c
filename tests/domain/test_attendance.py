"""Known-answer timelines for the attendance engine: punches in, day records out (spec:
attendance.md, "Which day a punch belongs to" and "The day record").

Every case builds punches from local wall times in the tenant zone, runs ``build_days`` and
checks the exact fields of the record of one work date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from punchlog.domain.attendance import Employment, build_days
from punchlog.domain.days import (
    BOUNCE,
    EXCLUDED,
    OFF_SHIFT,
    Day,
    Punch,
    compute_day,
    effective_direction,
    mark_counted,
    walk_pairs,
)
from punchlog.domain.shifts import PAIRS, Shift, instance_of

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")

WED = date(2026, 6, 3)
THU = date(2026, 6, 4)
SAT = date(2026, 6, 6)
FALL_BACK = date(2026, 10, 24)  # Sat; Berlin leaves CEST at 03:00 on Sun 2026-10-25
SPRING_FORWARD = date(2026, 3, 28)  # Sat; Berlin enters CEST at 02:00 on Sun 2026-03-29


def h(hours: float = 0, minutes: int = 0, seconds: int = 0) -> timedelta:
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


ZERO = timedelta(0)

DAY = Shift(
    "DAY",
    time(9),
    time(17),
    late_grace=h(0, 10),
    early_grace=h(0, 10),
    half_day_below=h(6),
    absent_below=h(2),
    weekly_offs=frozenset({5, 6}),
)
PAIRS_DAY = Shift("PAIRS", time(9), time(17), checkout_after=h(2), hours_mode=PAIRS)
NIGHT = Shift("NIGHT", time(22), time(6))
MORNING = Shift("MORNING", time(6), time(14))


def wall(text: str, zone: tzinfo = BERLIN) -> datetime:
    """A local wall time in ``zone`` (fold=0) as an aware UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=zone, fold=0).astimezone(UTC)


def punch(
    pid: int,
    local: str,
    direction: str,
    *,
    status: int | None = None,
    zone: tzinfo = BERLIN,
    excluded: bool = False,
) -> Punch:
    return Punch(
        pid,
        instant=wall(local, zone),
        direction=direction,
        status=(0 if direction == "in" else 1) if status is None else status,
        device="d1",
        source="api",
        excluded=excluded,
    )


def timeline(*items: tuple[str, str]) -> list[Punch]:
    """Punches numbered 1, 2, ... from (local wall time, direction) pairs."""
    return [punch(n, local, direction) for n, (local, direction) in enumerate(items, start=1)]


def every_day(shift: Shift | None) -> Callable[[date], Shift | None]:
    return lambda _day: shift


def by_date(mapping: dict[date, Shift]) -> Callable[[date], Shift | None]:
    return mapping.get


def around(day: date) -> list[date]:
    return [day - timedelta(days=1), day, day + timedelta(days=1)]


def marks(day: Day) -> list[tuple[int, bool, str | None]]:
    return [(m.punch.id, m.counted, m.reason) for m in day.punches]


def fields(day: Day, expected: dict[str, Any]) -> dict[str, Any]:
    return {name: getattr(day, name) for name in expected}


# --- the known-answer table --------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    punches: list[Punch]
    expect: dict[str, Any]
    work_date: date = WED
    shift_on: Callable[[date], Shift | None] = field(default=every_day(DAY))
    holidays: frozenset[date] = frozenset()
    marks: list[tuple[int, bool, str | None]] | None = None  # None: every punch counted


def _present(first_in: str, last_out: str, worked: timedelta, **more: Any) -> dict[str, Any]:
    return {
        "status": "present",
        "first_in": wall(first_in),
        "last_out": wall(last_out),
        "gross": worked,
        **more,
    }


CASES = [
    pytest.param(
        Case(
            timeline(("2026-06-03 09:00", "in"), ("2026-06-03 17:00", "out")),
            {
                "status": "present",
                "day_type": "working_day",
                "shift": "DAY",
                "first_in": wall("2026-06-03 09:00"),
                "last_out": wall("2026-06-03 17:00"),
                "gross": h(8),
                "effective": h(8),
                "breaks": ZERO,
                "late_by": ZERO,
                "early_by": ZERO,
                "overtime": ZERO,
                "window_end": wall("2026-06-03 18:00"),
            },
        ),
        id="on-time",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:10", "in"), ("2026-06-03 17:00", "out")),
            _present("2026-06-03 09:10", "2026-06-03 17:00", h(7, 50), late_by=ZERO),
        ),
        id="late-exactly-grace-not-late",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:04", "in"), ("2026-06-03 17:00", "out")),
            _present("2026-06-03 09:04", "2026-06-03 17:00", h(7, 56), late_by=ZERO),
        ),
        id="late-within-grace-not-late",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:10:01", "in"), ("2026-06-03 17:00", "out")),
            {"late_by": h(0, 10, 1), "status": "present"},
        ),
        id="late-one-second-past-grace-full-amount",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:25", "in"), ("2026-06-03 17:00", "out")),
            _present("2026-06-03 09:25", "2026-06-03 17:00", h(7, 35), late_by=h(0, 25)),
        ),
        id="late-past-grace",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:00", "in"), ("2026-06-03 16:50", "out")),
            _present("2026-06-03 09:00", "2026-06-03 16:50", h(7, 50), early_by=ZERO),
        ),
        id="early-exactly-grace-not-early",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:00", "in"), ("2026-06-03 16:45", "out")),
            _present("2026-06-03 09:00", "2026-06-03 16:45", h(7, 45), early_by=h(0, 15)),
        ),
        id="early-exit-past-grace",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 08:30", "in"), ("2026-06-03 17:55", "out")),
            _present(
                "2026-06-03 08:30",
                "2026-06-03 17:55",
                h(9, 25),
                overtime=h(1, 25),
                late_by=ZERO,
                early_by=ZERO,
            ),
        ),
        id="overtime-early-in-late-out",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 17:00", "out")),
            {
                "status": "missing_punch",
                "first_in": None,
                "last_out": wall("2026-06-03 17:00"),
                "gross": ZERO,
                "effective": ZERO,
                "overtime": ZERO,
                "early_by": ZERO,
            },
        ),
        id="missing-in-only-out",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:00", "in")),
            {
                "status": "missing_punch",
                "first_in": wall("2026-06-03 09:00"),
                "last_out": None,
                "gross": ZERO,
                "effective": ZERO,
                "overtime": ZERO,
                "late_by": ZERO,
            },
        ),
        id="missing-out-only-in",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:30", "in")),
            {"status": "missing_punch", "gross": ZERO, "late_by": h(0, 30)},
        ),
        id="single-late-punch-missing-but-late",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:00", "out"), ("2026-06-03 17:00", "in")),
            {
                "status": "missing_punch",
                "first_in": wall("2026-06-03 17:00"),
                "last_out": wall("2026-06-03 09:00"),
                "gross": ZERO,
                "effective": ZERO,
            },
        ),
        id="out-before-in-not-in-order",
    ),
    pytest.param(
        Case(
            timeline(
                ("2026-06-03 09:00:00", "in"),
                ("2026-06-03 09:00:20", "in"),
                ("2026-06-03 17:00", "out"),
            ),
            _present("2026-06-03 09:00:00", "2026-06-03 17:00", h(8)),
            marks=[(1, True, None), (2, False, BOUNCE), (3, True, None)],
        ),
        id="bounce-20s-second-in-ignored",
    ),
    pytest.param(
        Case(
            timeline(
                ("2026-06-03 09:00:00", "in"),
                ("2026-06-03 09:01:30", "in"),
                ("2026-06-03 17:00", "out"),
            ),
            _present("2026-06-03 09:00:00", "2026-06-03 17:00", h(8)),
        ),
        id="two-ins-90s-apart-both-counted",
    ),
    pytest.param(
        Case(
            timeline(
                ("2026-06-03 09:00:00", "in"),
                ("2026-06-03 09:01:00", "in"),
                ("2026-06-03 17:00", "out"),
            ),
            _present("2026-06-03 09:00:00", "2026-06-03 17:00", h(8)),
        ),
        id="two-ins-exactly-60s-apart-counted",
    ),
    pytest.param(
        Case(
            timeline(
                ("2026-06-03 09:00", "in"),
                ("2026-06-03 17:00:00", "out"),
                ("2026-06-03 17:00:30", "out"),
            ),
            _present("2026-06-03 09:00", "2026-06-03 17:00:00", h(8)),
            marks=[(1, True, None), (2, True, None), (3, False, BOUNCE)],
        ),
        id="bounced-out-does-not-move-last-out",
    ),
    pytest.param(
        Case(
            timeline(
                ("2026-06-03 09:00:00", "in"),
                ("2026-06-03 09:00:40", "in"),
                ("2026-06-03 09:01:20", "in"),
                ("2026-06-03 17:00", "out"),
            ),
            _present("2026-06-03 09:00:00", "2026-06-03 17:00", h(8)),
            marks=[(1, True, None), (2, False, BOUNCE), (3, True, None), (4, True, None)],
        ),
        id="bounce-measured-from-previous-kept-punch",
    ),
    pytest.param(
        Case(
            timeline(
                ("2026-06-03 09:00:00", "in"),
                ("2026-06-03 09:00:20", "out"),
                ("2026-06-03 09:00:40", "in"),
                ("2026-06-03 17:00", "out"),
            ),
            _present("2026-06-03 09:00:00", "2026-06-03 17:00", h(8)),
        ),
        id="opposite-directions-close-together-not-bounces",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:00", "in"), ("2026-06-03 13:00", "out")),
            {"status": "half_day", "gross": h(4), "early_by": h(4)},
        ),
        id="half-day-below-half-day-below",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:00", "in"), ("2026-06-03 15:00", "out")),
            {"status": "present", "gross": h(6), "early_by": h(2)},
        ),
        id="exactly-half-day-below-is-present",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:00", "in"), ("2026-06-03 10:00", "out")),
            {"status": "absent", "gross": h(1), "early_by": h(7), "overtime": ZERO},
        ),
        id="absent-below-absent-below",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:00", "in"), ("2026-06-03 11:00", "out")),
            {"status": "half_day", "gross": h(2)},
        ),
        id="exactly-absent-below-is-half-day",
    ),
    pytest.param(
        Case(
            [],
            {
                "status": "absent",
                "day_type": "working_day",
                "shift": "DAY",
                "first_in": None,
                "last_out": None,
                "gross": ZERO,
                "late_by": ZERO,
                "early_by": ZERO,
                "overtime": ZERO,
                "punches": (),
                "window_end": wall("2026-06-03 18:00"),
            },
        ),
        id="absent-working-day-without-punches",
    ),
    pytest.param(
        Case(
            [],
            {"status": "weekly_off", "day_type": "weekly_off", "shift": "DAY", "overtime": ZERO},
            work_date=SAT,
        ),
        id="weekly-off-without-punches",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-06 09:00", "in"), ("2026-06-06 17:00", "out")),
            {
                "status": "present",
                "day_type": "weekly_off",
                "shift": "DAY",
                "gross": h(8),
                "overtime": h(8),
            },
            work_date=SAT,
        ),
        id="weekly-off-worked-all-overtime",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-06 09:00", "in")),
            {"status": "missing_punch", "day_type": "weekly_off", "overtime": ZERO},
            work_date=SAT,
        ),
        id="weekly-off-single-punch-missing",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-06 10:00", "in"), ("2026-06-06 13:00", "out")),
            # Decision: thresholds judge working days only; work on a day off is present + OT.
            {"status": "present", "day_type": "weekly_off", "gross": h(3), "overtime": h(3)},
            work_date=SAT,
        ),
        id="weekly-off-short-work-is-present-not-half-day",
    ),
    pytest.param(
        Case(
            [],
            {"status": "holiday", "day_type": "holiday", "shift": "DAY"},
            holidays=frozenset({WED}),
        ),
        id="holiday-without-punches",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:00", "in"), ("2026-06-03 17:30", "out")),
            {"status": "present", "day_type": "holiday", "gross": h(8, 30), "overtime": h(8, 30)},
            holidays=frozenset({WED}),
        ),
        id="work-on-holiday-all-overtime",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:00", "in"), ("2026-06-03 10:00", "out")),
            {"status": "present", "day_type": "holiday", "gross": h(1), "overtime": h(1)},
            holidays=frozenset({WED}),
        ),
        id="holiday-short-work-is-present-not-absent",
    ),
    pytest.param(
        Case(
            timeline(
                ("2026-06-03 09:00", "in"),
                ("2026-06-03 13:00", "out"),
                ("2026-06-03 14:00", "in"),
                ("2026-06-03 18:00", "out"),
            ),
            {
                "status": "present",
                "first_in": wall("2026-06-03 09:00"),
                "last_out": wall("2026-06-03 18:00"),
                "gross": h(9),
                "effective": h(8),
                "breaks": h(1),
                "overtime": ZERO,
                "early_by": ZERO,
            },
            shift_on=every_day(PAIRS_DAY),
        ),
        id="pairs-with-break",
    ),
    pytest.param(
        Case(
            timeline(
                ("2026-06-03 08:00", "in"),
                ("2026-06-03 12:00", "out"),
                ("2026-06-03 13:00", "in"),
                ("2026-06-03 18:00", "out"),
            ),
            {"gross": h(10), "effective": h(9), "breaks": h(1), "overtime": h(1)},
            shift_on=every_day(PAIRS_DAY),
        ),
        id="pairs-overtime-from-effective",
    ),
    pytest.param(
        Case(
            timeline(
                ("2026-06-03 08:00", "in"),
                ("2026-06-03 12:00", "out"),
                ("2026-06-03 13:00", "in"),
                ("2026-06-03 17:55", "out"),
            ),
            {"gross": h(9, 55), "effective": h(8, 55), "breaks": h(1), "overtime": h(1, 55)},
        ),
        id="first-last-overtime-from-gross",
    ),
    pytest.param(
        Case(
            timeline(
                ("2026-06-03 09:00", "in"),
                ("2026-06-03 12:00", "out"),
                ("2026-06-03 12:30", "in"),
                ("2026-06-03 15:00", "out"),
                ("2026-06-03 15:15", "in"),
                ("2026-06-03 17:00", "out"),
            ),
            {"status": "present", "effective": h(7, 15), "breaks": h(0, 45), "gross": h(8)},
            shift_on=every_day(PAIRS_DAY),
        ),
        id="pairs-three-pairs-two-breaks",
    ),
    pytest.param(
        Case(
            timeline(
                ("2026-06-03 09:00", "in"),
                ("2026-06-03 10:00", "in"),
                ("2026-06-03 13:00", "out"),
            ),
            {
                "status": "present",
                "first_in": wall("2026-06-03 09:00"),
                "effective": h(4),
                "breaks": ZERO,
                "early_by": h(4),
            },
            shift_on=every_day(PAIRS_DAY),
        ),
        id="pairs-in-while-in-ignored",
    ),
    pytest.param(
        Case(
            timeline(
                ("2026-06-03 08:50", "out"),
                ("2026-06-03 09:00", "in"),
                ("2026-06-03 12:00", "out"),
                ("2026-06-03 12:10", "out"),
                ("2026-06-03 13:00", "in"),
                ("2026-06-03 17:00", "out"),
            ),
            {"status": "present", "effective": h(7), "breaks": h(1, 0), "gross": h(8)},
            shift_on=every_day(PAIRS_DAY),
        ),
        id="pairs-out-while-out-unpaired",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:00", "out"), ("2026-06-03 17:00", "in")),
            {"status": "missing_punch", "effective": ZERO, "breaks": ZERO},
            shift_on=every_day(PAIRS_DAY),
        ),
        id="pairs-no-pair-missing-punch",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 21:55", "in"), ("2026-06-04 06:10", "out")),
            {
                "status": "present",
                "shift": "NIGHT",
                "first_in": wall("2026-06-03 21:55"),
                "last_out": wall("2026-06-04 06:10"),
                "gross": h(8, 15),
                "overtime": h(0, 15),
                "late_by": ZERO,
                "early_by": ZERO,
                "window_end": wall("2026-06-04 07:00"),
            },
            shift_on=every_day(NIGHT),
        ),
        id="night-out-next-morning-belongs-to-start-date",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 22:30", "in"), ("2026-06-04 05:00", "out")),
            {"late_by": h(0, 30), "early_by": h(1), "gross": h(6, 30), "overtime": ZERO},
            shift_on=every_day(NIGHT),
        ),
        id="night-late-and-early-across-midnight",
    ),
    pytest.param(
        Case(
            timeline(("2026-10-24 22:00", "in"), ("2026-10-25 06:00", "out")),
            {
                "status": "present",
                "gross": h(9),
                "overtime": ZERO,
                "early_by": ZERO,
                "window_end": wall("2026-10-25 07:00"),
            },
            work_date=FALL_BACK,
            shift_on=every_day(NIGHT),
        ),
        id="night-dst-fall-back-9h-scheduled",
    ),
    pytest.param(
        Case(
            timeline(("2026-10-24 22:00", "in"), ("2026-10-25 06:45", "out")),
            {"gross": h(9, 45), "overtime": h(0, 45)},
            work_date=FALL_BACK,
            shift_on=every_day(NIGHT),
        ),
        id="night-dst-fall-back-overtime-from-instants",
    ),
    pytest.param(
        Case(
            timeline(("2026-10-24 22:00", "in"), ("2026-10-25 05:00", "out")),
            {"gross": h(8), "early_by": h(1), "overtime": ZERO},
            work_date=FALL_BACK,
            shift_on=every_day(NIGHT),
        ),
        id="night-dst-fall-back-8h-is-early",
    ),
    pytest.param(
        Case(
            timeline(("2026-03-28 22:00", "in"), ("2026-03-29 06:00", "out")),
            {"status": "present", "gross": h(7), "overtime": ZERO, "early_by": ZERO},
            work_date=SPRING_FORWARD,
            shift_on=every_day(NIGHT),
        ),
        id="night-dst-spring-forward-7h-scheduled",
    ),
    pytest.param(
        Case(
            timeline(("2026-03-28 22:00", "in"), ("2026-03-29 06:30", "out")),
            {"gross": h(7, 30), "overtime": h(0, 30)},
            work_date=SPRING_FORWARD,
            shift_on=every_day(NIGHT),
        ),
        id="night-dst-spring-forward-overtime-from-instants",
    ),
    pytest.param(
        Case(
            timeline(
                ("2026-06-03 02:00", "in"),
                ("2026-06-03 09:00", "in"),
                ("2026-06-03 17:00", "out"),
                ("2026-06-03 20:00", "out"),
            ),
            _present("2026-06-03 09:00", "2026-06-03 17:00", h(8)),
            marks=[(1, False, OFF_SHIFT), (2, True, None), (3, True, None), (4, False, OFF_SHIFT)],
        ),
        id="punches-outside-every-window-off-shift",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 20:00", "in")),
            {"first_in": None, "gross": ZERO, "late_by": ZERO},
            marks=[(1, False, OFF_SHIFT)],
        ),
        id="only-off-shift-punch-counts-nothing",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 10:00", "in"), ("2026-06-03 19:30", "out")),
            {
                "status": "present",
                "day_type": "working_day",
                "shift": None,
                "gross": h(9, 30),
                "late_by": ZERO,
                "early_by": ZERO,
                "overtime": ZERO,
                "window_end": None,
            },
            shift_on=every_day(None),
        ),
        id="no-shift-day-with-punches-no-late-early",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 23:30", "in")),
            {"status": "missing_punch", "shift": None, "first_in": wall("2026-06-03 23:30")},
            shift_on=every_day(None),
        ),
        id="no-shift-day-single-punch-missing",
    ),
    pytest.param(
        Case(
            timeline(("2026-06-03 09:00", "out"), ("2026-06-03 17:00", "in")),
            {"status": "missing_punch", "shift": None, "gross": ZERO},
            shift_on=every_day(None),
        ),
        id="no-shift-day-out-before-in-missing",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_known_answer(case: Case) -> None:
    days = build_days(
        [case.work_date],
        case.punches,
        shift_on=case.shift_on,
        zone=BERLIN,
        holidays=case.holidays,
    )
    assert [d.work_date for d in days] == [case.work_date]
    (day,) = days
    assert fields(day, case.expect) == case.expect
    expected_marks = case.marks
    if expected_marks is None:
        expected_marks = [(p.id, True, None) for p in case.punches]
    assert marks(day) == expected_marks


# --- device direction --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "status", "direction"),
    [
        pytest.param("in", 0, "in", id="in-device-status-0"),
        pytest.param("in", 1, "in", id="in-device-status-1"),
        pytest.param("out", 0, "out", id="out-device-status-0"),
        pytest.param("out", 1, "out", id="out-device-status-1"),
        pytest.param("both", 0, "in", id="both-status-0"),
        pytest.param("both", 1, "out", id="both-status-1"),
    ],
)
def test_effective_direction(device: str, status: int, direction: str) -> None:
    assert effective_direction(device, status) == direction


def _device_punch(pid: int, local: str, device: str, status: int) -> Punch:
    return punch(pid, local, effective_direction(device, status), status=status)


def test_in_only_device_every_punch_is_in_and_raw_status_kept() -> None:
    punches = [
        _device_punch(1, "2026-06-03 09:00", "in", 0),
        _device_punch(2, "2026-06-03 17:00", "in", 1),
    ]
    (day,) = build_days([WED], punches, shift_on=every_day(DAY), zone=BERLIN)
    assert [(m.punch.direction, m.punch.status) for m in day.punches] == [("in", 0), ("in", 1)]
    assert (day.status, day.first_in, day.last_out) == (
        "missing_punch",
        wall("2026-06-03 09:00"),
        None,
    )


def test_in_device_and_out_device_make_a_day_whatever_their_status() -> None:
    punches = [
        _device_punch(1, "2026-06-03 09:00", "in", 1),
        _device_punch(2, "2026-06-03 17:00", "out", 0),
    ]
    (day,) = build_days([WED], punches, shift_on=every_day(DAY), zone=BERLIN)
    assert [(m.punch.direction, m.punch.status) for m in day.punches] == [("in", 1), ("out", 0)]
    assert (day.status, day.gross) == ("present", h(8))


def test_out_only_device_every_punch_is_out() -> None:
    punches = [
        _device_punch(1, "2026-06-03 09:00", "out", 0),
        _device_punch(2, "2026-06-03 17:00", "out", 0),
    ]
    (day,) = build_days([WED], punches, shift_on=every_day(DAY), zone=BERLIN)
    assert [m.punch.direction for m in day.punches] == ["out", "out"]
    assert (day.status, day.first_in, day.last_out) == (
        "missing_punch",
        None,
        wall("2026-06-03 17:00"),
    )


# --- which date a punch lands on ---------------------------------------------------------------


def test_night_out_next_morning_not_on_next_date() -> None:
    punches = timeline(("2026-06-03 21:55", "in"), ("2026-06-04 06:10", "out"))
    days = build_days(around(WED), punches, shift_on=every_day(NIGHT), zone=BERLIN)
    by_day = {d.work_date: d for d in days}
    assert sorted(by_day) == around(WED)
    assert [m.punch.id for m in by_day[WED].punches] == [1, 2]
    assert by_day[THU].punches == ()
    assert by_day[THU].status == "absent"


@pytest.mark.parametrize(
    ("local", "work_date"),
    [
        pytest.param("2026-06-04 05:50", WED, id="checkin-before-06-goes-to-night-shift"),
        pytest.param("2026-06-04 06:00", THU, id="at-06-goes-to-morning-shift"),
        pytest.param("2026-06-04 06:30", THU, id="night-checkout-window-trimmed-away"),
    ],
)
def test_back_to_back_night_then_morning_boundary(local: str, work_date: date) -> None:
    """NIGHT 22-06 on Wed, MORNING 06-14 on Thu: windows overlap, the boundary is 06:00."""
    shift_on = by_date({WED: NIGHT, THU: MORNING})
    punches = [punch(1, local, "in")]
    days = build_days([WED, THU], punches, shift_on=shift_on, zone=BERLIN)
    holder = [d.work_date for d in days if any(m.punch.id == 1 for m in d.punches)]
    assert holder == [work_date]
    assert {d.work_date: d.window_end for d in days} == {
        WED: wall("2026-06-04 06:00"),
        THU: wall("2026-06-04 15:00"),
    }


def test_back_to_back_night_then_morning_full_days() -> None:
    shift_on = by_date({WED: NIGHT, THU: MORNING})
    punches = timeline(
        ("2026-06-03 21:58", "in"),
        ("2026-06-04 05:59", "out"),
        ("2026-06-04 06:02", "in"),
        ("2026-06-04 14:05", "out"),
    )
    wed, thu = build_days([WED, THU], punches, shift_on=shift_on, zone=BERLIN)
    assert (wed.shift, wed.status, wed.gross, wed.early_by) == (
        "NIGHT",
        "present",
        h(8, 1),
        h(0, 1),
    )
    assert (thu.shift, thu.status, thu.gross, thu.late_by) == (
        "MORNING",
        "present",
        h(8, 3),
        h(0, 2),
    )
    assert [m.punch.id for m in wed.punches] == [1, 2]
    assert [m.punch.id for m in thu.punches] == [3, 4]


@pytest.mark.parametrize(
    ("local", "work_date"),
    [
        pytest.param("2026-06-04 07:45", WED, id="before-08-first-night"),
        pytest.param("2026-06-04 08:00", THU, id="at-08-second-night"),
        pytest.param("2026-06-04 08:30", THU, id="first-night-checkout-window-trimmed"),
    ],
)
def test_consecutive_12h_nights_with_overlapping_windows(local: str, work_date: date) -> None:
    """20:00-08:00 every day, checkin 12h30 before: Thu's window opens 07:30, before Wed's
    instance ends (08:00) — so Thu's window starts at 08:00."""
    wide = Shift("T", time(20), time(8), checkin_before=h(12, 30))
    days = build_days([WED, THU], [punch(1, local, "out")], shift_on=every_day(wide), zone=BERLIN)
    holder = [d.work_date for d in days if d.punches]
    assert holder == [work_date]


def test_consecutive_12h_nights_with_60min_windows_are_independent() -> None:
    twelve = Shift("T", time(20), time(8))
    punches = timeline(
        ("2026-06-03 19:55", "in"),
        ("2026-06-04 08:50", "out"),
        ("2026-06-04 19:05", "in"),
        ("2026-06-05 08:00", "out"),
    )
    wed, thu = build_days([WED, THU], punches, shift_on=every_day(twelve), zone=BERLIN)
    assert (wed.gross, wed.overtime, wed.window_end) == (
        h(12, 55),
        h(0, 55),
        wall("2026-06-04 09:00"),
    )
    assert (thu.gross, thu.overtime) == (h(12, 55), h(0, 55))
    assert [m.punch.id for m in thu.punches] == [3, 4]


def test_punch_local_date_read_in_tenant_zone() -> None:
    """00:30 in Kolkata is the previous day in UTC: a no-shift punch lands on its local date."""
    late = punch(1, "2026-06-04 00:30", "in", zone=KOLKATA)
    assert late.instant.date() == WED  # UTC says Wednesday
    days = build_days(around(THU), [late], shift_on=every_day(None), zone=KOLKATA)
    assert [d.work_date for d in days] == [THU]


def test_tenant_zone_shift_times() -> None:
    punches = [
        punch(1, "2026-06-03 09:00", "in", zone=KOLKATA),
        punch(2, "2026-06-03 17:00", "out", zone=KOLKATA),
    ]
    (day,) = build_days([WED], punches, shift_on=every_day(DAY), zone=KOLKATA)
    assert (day.status, day.late_by, day.early_by, day.gross) == ("present", ZERO, ZERO, h(8))


def test_punch_exactly_at_window_end_belongs_to_the_instance() -> None:
    """Spec: the window is ``[start - checkin_before_start, end + checkout_after_end]`` (both
    ends included); with no later window to hand the instant to, an OUT at exactly 18:00 on a
    09:00-17:00 shift with the default 60-minute checkout margin still belongs to the day."""
    shift = Shift("S", time(9), time(17))
    punches = timeline(("2026-06-03 09:00", "in"), ("2026-06-03 18:00", "out"))
    (day,) = build_days([WED], punches, shift_on=every_day(shift), zone=BERLIN)
    assert marks(day) == [(1, True, None), (2, True, None)]
    assert (day.last_out, day.gross, day.overtime) == (wall("2026-06-03 18:00"), h(9), h(1))


def test_punch_exactly_at_window_start_belongs_to_the_instance() -> None:
    shift = Shift("S", time(9), time(17))
    punches = timeline(("2026-06-03 08:00", "in"), ("2026-06-03 17:00", "out"))
    (day,) = build_days([WED], punches, shift_on=every_day(shift), zone=BERLIN)
    assert marks(day) == [(1, True, None), (2, True, None)]
    assert (day.first_in, day.gross) == (wall("2026-06-03 08:00"), h(9))


# --- which dates get a record ------------------------------------------------------------------


def test_employment_no_day_before_joining_or_after_leaving() -> None:
    june = [date(2026, 6, 1) + timedelta(days=n) for n in range(30)]
    punches = timeline(
        ("2026-06-05 09:00", "in"),  # before joining
        ("2026-06-05 17:00", "out"),
        ("2026-06-15 09:00", "in"),
        ("2026-06-15 17:00", "out"),
        ("2026-06-25 09:00", "in"),  # after leaving
        ("2026-06-25 17:00", "out"),
    )
    days = build_days(
        june,
        punches,
        shift_on=every_day(Shift("ALL", time(9), time(17))),
        zone=BERLIN,
        employment=Employment(joined_on=date(2026, 6, 10), left_on=date(2026, 6, 20)),
    )
    assert [d.work_date for d in days] == [date(2026, 6, n) for n in range(10, 21)]
    statuses = {d.work_date.day: d.status for d in days}
    assert statuses[15] == "present"
    assert {s for day, s in statuses.items() if day != 15} == {"absent"}


@pytest.mark.parametrize(
    ("employment", "covered"),
    [
        pytest.param(Employment(), True, id="no-dates"),
        pytest.param(Employment(joined_on=WED), True, id="joined-that-day"),
        pytest.param(Employment(joined_on=THU), False, id="joined-next-day"),
        pytest.param(Employment(left_on=WED), True, id="left-that-day"),
        pytest.param(Employment(left_on=WED - timedelta(1)), False, id="left-day-before"),
    ],
)
def test_employment_covers(employment: Employment, covered: bool) -> None:
    assert employment.covers(WED) is covered


def test_which_dates_get_a_record() -> None:
    """Mon-Fri shift; Sat (no shift) with punches; Sun with neither → no record."""
    weekdays_only = Shift("WK", time(9), time(17))

    def shift_on(day: date) -> Shift | None:
        return weekdays_only if day.weekday() < 5 else None

    week = [date(2026, 6, 1) + timedelta(days=n) for n in range(7)]
    punches = timeline(("2026-06-06 11:00", "in"), ("2026-06-06 14:00", "out"))
    days = build_days(week, punches, shift_on=shift_on, zone=BERLIN)
    assert [d.work_date for d in days] == week[:6]
    assert [d.status for d in days] == ["absent"] * 5 + ["present"]
    saturday = days[-1]
    assert (saturday.shift, saturday.gross, saturday.late_by, saturday.overtime) == (
        None,
        h(3),
        ZERO,
        ZERO,
    )


def test_only_asked_dates_are_returned() -> None:
    punches = timeline(("2026-06-04 09:00", "in"), ("2026-06-04 17:00", "out"))
    assert build_days([], punches, shift_on=every_day(DAY), zone=BERLIN) == []
    (day,) = build_days([WED, WED], punches, shift_on=every_day(DAY), zone=BERLIN)
    assert (day.work_date, day.punches) == (WED, ())


def test_bounce_interval_is_a_parameter() -> None:
    punches = timeline(
        ("2026-06-03 09:00:00", "in"),
        ("2026-06-03 09:01:30", "in"),
        ("2026-06-03 17:00", "out"),
    )
    (day,) = build_days(
        [WED], punches, shift_on=every_day(DAY), zone=BERLIN, bounce=timedelta(seconds=120)
    )
    assert marks(day) == [(1, True, None), (2, False, BOUNCE), (3, True, None)]


def test_bounce_across_work_dates() -> None:
    """Spec: a bounce is judged against the previous kept punch *of that employee*. NIGHT on
    Wed, MORNING on Thu: OUT 05:59:50 closes the night, a double-tap OUT at 06:00:05 lands in
    Thursday's window but is 15 s after a kept OUT — a bounce, not a counted OUT."""
    shift_on = by_date({WED: NIGHT, THU: MORNING})
    punches = timeline(
        ("2026-06-03 22:00", "in"),
        ("2026-06-04 05:59:50", "out"),
        ("2026-06-04 06:00:05", "out"),
    )
    days = build_days([WED, THU], punches, shift_on=shift_on, zone=BERLIN)
    third = [(d.work_date, m.counted, m.reason) for d in days for m in d.punches if m.punch.id == 3]
    assert third == [(THU, False, BOUNCE)]


# --- the pieces --------------------------------------------------------------------------------


def test_mark_counted_sorts_and_gives_reasons() -> None:
    a = punch(3, "2026-06-03 09:00:10", "in")
    b = punch(1, "2026-06-03 09:00:00", "in", excluded=True)
    c = punch(2, "2026-06-03 09:00:05", "in")
    d = replace(punch(4, "2026-06-03 02:00", "in"), off_shift=True)
    result = mark_counted([a, b, c, d], timedelta(seconds=60))
    assert [(m.punch.id, m.counted, m.reason) for m in result] == [
        (4, False, OFF_SHIFT),
        (1, False, EXCLUDED),
        (2, True, None),  # the excluded punch is not a "kept" punch
        (3, False, BOUNCE),
    ]


def test_excluded_punch_not_counted_in_day() -> None:
    punches = [
        punch(1, "2026-06-03 08:00", "in", excluded=True),
        punch(2, "2026-06-03 09:00", "in"),
        punch(3, "2026-06-03 17:00", "out"),
    ]
    (day,) = build_days([WED], punches, shift_on=every_day(DAY), zone=BERLIN)
    assert marks(day) == [(1, False, EXCLUDED), (2, True, None), (3, True, None)]
    assert (day.first_in, day.gross) == (wall("2026-06-03 09:00"), h(8))


@pytest.mark.parametrize(
    ("items", "pairs"),
    [
        pytest.param([], [], id="empty"),
        pytest.param([("09:00", "in"), ("17:00", "out")], [("09:00", "17:00")], id="one-pair"),
        pytest.param(
            [("09:00", "in"), ("10:00", "in"), ("17:00", "out")],
            [("09:00", "17:00")],
            id="in-while-in-ignored",
        ),
        pytest.param(
            [("08:00", "out"), ("09:00", "in"), ("12:00", "out"), ("12:05", "out")],
            [("09:00", "12:00")],
            id="out-while-out-unpaired",
        ),
        pytest.param(
            [("09:00", "in"), ("12:00", "out"), ("13:00", "in")],
            [("09:00", "12:00")],
            id="open-pair-dropped",
        ),
    ],
)
def test_walk_pairs(items: list[tuple[str, str]], pairs: list[tuple[str, str]]) -> None:
    punches = timeline(*((f"2026-06-03 {t}", d) for t, d in items))
    assert walk_pairs(punches) == [
        (wall(f"2026-06-03 {a}"), wall(f"2026-06-03 {b}")) for a, b in pairs
    ]


def test_compute_day_without_instance_is_no_shift_day() -> None:
    day = compute_day(WED, [], instance=None, day_type="working_day")
    assert (day.status, day.shift, day.window_end, day.punches) == (None, None, None, ())


def test_compute_day_scheduled_follows_instants() -> None:
    instance = instance_of(NIGHT, FALL_BACK, BERLIN)
    punches = timeline(("2026-10-24 21:00", "in"), ("2026-10-25 06:00", "out"))
    day = compute_day(FALL_BACK, punches, instance=instance, day_type="working_day")
    assert (day.gross, day.overtime, day.late_by, day.early_by) == (h(10), h(1), ZERO, ZERO)
