"""Shift instances, their windows, overlap trimming and punch attribution (spec: "Which day a
punch belongs to"). Wall times are read in the tenant zone, DST rule fold=0."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from punchlog.domain.shifts import (
    PAIRS,
    Instance,
    Shift,
    attribute,
    format_weekly_offs,
    instance_of,
    instances_around,
    parse_weekly_offs,
    trim_overlaps,
)

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")

D = date(2026, 6, 3)  # a Wednesday, no DST change nearby
FALL_BACK = date(2026, 10, 24)  # the night into Sun 2026-10-25 (CEST → CET at 03:00)
SPRING_FORWARD = date(2026, 3, 28)  # the night into Sun 2026-03-29 (CET → CEST at 02:00)

DAY = Shift("DAY", time(9), time(17))
NIGHT = Shift("NIGHT", time(22), time(6))
MORNING = Shift("MORNING", time(6), time(14))
AFTERNOON = Shift("AFTERNOON", time(14), time(22))
TWELVE = Shift("TWELVE", time(20), time(8))
WIDE_TWELVE = Shift("T", time(20), time(8), checkin_before=timedelta(hours=12, minutes=30))


def h(hours: float = 0, minutes: int = 0, seconds: int = 0) -> timedelta:
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def wall(text: str, zone: tzinfo = BERLIN) -> datetime:
    """A local wall time in ``zone`` (fold=0) as an aware UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=zone, fold=0).astimezone(UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def every_day(shift: Shift | None):
    return lambda _day: shift


def by_date(mapping: dict[date, Shift]):
    return mapping.get


# --- instance_of -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shift", "work_date", "zone", "start", "end", "window_start", "window_end", "scheduled"),
    [
        pytest.param(
            DAY,
            D,
            BERLIN,
            "2026-06-03 07:00",
            "2026-06-03 15:00",
            "2026-06-03 06:00",
            "2026-06-03 16:00",
            h(8),
            id="day-shift-summer-berlin",
        ),
        pytest.param(
            DAY,
            date(2026, 1, 14),
            BERLIN,
            "2026-01-14 08:00",
            "2026-01-14 16:00",
            "2026-01-14 07:00",
            "2026-01-14 17:00",
            h(8),
            id="day-shift-winter-berlin",
        ),
        pytest.param(
            DAY,
            D,
            KOLKATA,
            "2026-06-03 03:30",
            "2026-06-03 11:30",
            "2026-06-03 02:30",
            "2026-06-03 12:30",
            h(8),
            id="day-shift-read-in-tenant-zone",
        ),
        pytest.param(
            NIGHT,
            D,
            BERLIN,
            "2026-06-03 20:00",
            "2026-06-04 04:00",
            "2026-06-03 19:00",
            "2026-06-04 05:00",
            h(8),
            id="night-shift-ends-next-day",
        ),
        pytest.param(
            NIGHT,
            FALL_BACK,
            BERLIN,
            "2026-10-24 20:00",
            "2026-10-25 05:00",
            "2026-10-24 19:00",
            "2026-10-25 06:00",
            h(9),
            id="night-across-fall-back-is-9h",
        ),
        pytest.param(
            NIGHT,
            SPRING_FORWARD,
            BERLIN,
            "2026-03-28 21:00",
            "2026-03-29 04:00",
            "2026-03-28 20:00",
            "2026-03-29 05:00",
            h(7),
            id="night-across-spring-forward-is-7h",
        ),
        pytest.param(
            Shift("GAP", time(2, 30), time(10, 30)),
            date(2026, 3, 29),
            BERLIN,
            "2026-03-29 01:30",  # 02:30 does not exist: offset before the change (+01:00)
            "2026-03-29 08:30",
            "2026-03-29 00:30",
            "2026-03-29 09:30",
            h(7),
            id="start-in-dst-gap-uses-offset-before",
        ),
        pytest.param(
            Shift("FOLD", time(2, 30), time(10, 30)),
            date(2026, 10, 25),
            BERLIN,
            "2026-10-25 00:30",  # 02:30 happens twice: the earlier instant (+02:00)
            "2026-10-25 09:30",
            "2026-10-24 23:30",
            "2026-10-25 10:30",
            h(9),
            id="start-in-dst-overlap-uses-earlier-instant",
        ),
        pytest.param(
            Shift("EQ", time(8), time(8)),
            D,
            BERLIN,
            "2026-06-03 06:00",
            "2026-06-04 06:00",
            "2026-06-03 05:00",
            "2026-06-04 07:00",
            h(24),
            id="end-equal-start-is-24h",
        ),
        pytest.param(
            Shift("WIDE", time(9), time(17), checkin_before=h(2), checkout_after=h(0, 30)),
            D,
            BERLIN,
            "2026-06-03 07:00",
            "2026-06-03 15:00",
            "2026-06-03 05:00",
            "2026-06-03 15:30",
            h(8),
            id="custom-window-margins",
        ),
    ],
)
def test_instance_of(
    shift: Shift,
    work_date: date,
    zone: tzinfo,
    start: str,
    end: str,
    window_start: str,
    window_end: str,
    scheduled: timedelta,
) -> None:
    instance = instance_of(shift, work_date, zone)
    assert instance.work_date == work_date
    assert instance.shift == shift
    assert (instance.start, instance.end) == (utc(start), utc(end))
    assert (instance.window_start, instance.window_end) == (utc(window_start), utc(window_end))
    assert instance.scheduled == scheduled


def test_overnight_flag() -> None:
    assert NIGHT.overnight
    assert Shift("EQ", time(8), time(8)).overnight
    assert not DAY.overnight


def test_window_bounds() -> None:
    instance = instance_of(DAY, D, BERLIN)
    assert instance.holds(wall("2026-06-03 08:00"))
    assert instance.holds(wall("2026-06-03 17:59:59"))
    assert not instance.holds(wall("2026-06-03 07:59:59"))
    assert not instance.holds(wall("2026-06-03 18:00:01"))


# --- trim_overlaps -----------------------------------------------------------------------------


def _windows(instances: list[Instance]) -> list[tuple[date, datetime, datetime]]:
    return [(i.work_date, i.window_start, i.window_end) for i in instances]


@pytest.mark.parametrize(
    ("instances", "expected"),
    [
        pytest.param(
            [instance_of(MORNING, D, BERLIN), instance_of(AFTERNOON, D, BERLIN)],
            [
                (D, wall("2026-06-03 05:00"), wall("2026-06-03 14:00")),
                (D, wall("2026-06-03 14:00"), wall("2026-06-03 23:00")),
            ],
            id="back-to-back-06-14-and-14-22-split-at-14",
        ),
        pytest.param(
            [instance_of(AFTERNOON, D, BERLIN), instance_of(MORNING, D, BERLIN)],
            [
                (D, wall("2026-06-03 05:00"), wall("2026-06-03 14:00")),
                (D, wall("2026-06-03 14:00"), wall("2026-06-03 23:00")),
            ],
            id="order-of-input-does-not-matter",
        ),
        pytest.param(
            [instance_of(NIGHT, D, BERLIN), instance_of(MORNING, D + timedelta(1), BERLIN)],
            [
                (D, wall("2026-06-03 21:00"), wall("2026-06-04 06:00")),
                (D + timedelta(1), wall("2026-06-04 06:00"), wall("2026-06-04 15:00")),
            ],
            id="night-then-morning-next-date-split-at-06",
        ),
        pytest.param(
            [instance_of(TWELVE, D, BERLIN), instance_of(TWELVE, D + timedelta(1), BERLIN)],
            [
                (D, wall("2026-06-03 19:00"), wall("2026-06-04 09:00")),
                (D + timedelta(1), wall("2026-06-04 19:00"), wall("2026-06-05 09:00")),
            ],
            id="20-08-on-consecutive-days-60min-windows-do-not-overlap",
        ),
        pytest.param(
            [instance_of(WIDE_TWELVE, d, BERLIN) for d in (D, D + timedelta(1))],
            [
                (D, wall("2026-06-03 07:30"), wall("2026-06-04 08:00")),
                (D + timedelta(1), wall("2026-06-04 08:00"), wall("2026-06-05 09:00")),
            ],
            id="20-08-on-consecutive-days-wide-windows-split-at-08",
        ),
        pytest.param(
            [instance_of(DAY, d, BERLIN) for d in (D, D + timedelta(1), D + timedelta(2))],
            [
                (D, wall("2026-06-03 08:00"), wall("2026-06-03 18:00")),
                (D + timedelta(1), wall("2026-06-04 08:00"), wall("2026-06-04 18:00")),
                (D + timedelta(2), wall("2026-06-05 08:00"), wall("2026-06-05 18:00")),
            ],
            id="day-shifts-no-overlap-unchanged",
        ),
        pytest.param([], [], id="empty"),
    ],
)
def test_trim_overlaps(
    instances: list[Instance], expected: list[tuple[date, datetime, datetime]]
) -> None:
    trimmed = trim_overlaps(instances)
    assert _windows(trimmed) == expected
    # Trimming moves windows only, never the shift's own start and end.
    assert sorted((i.start, i.end) for i in trimmed) == sorted((i.start, i.end) for i in instances)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(MORNING, AFTERNOON, id="06-14-then-14-22"),
        pytest.param(
            Shift("A", time(6), time(14), checkout_after=h(3)),
            Shift("B", time(14, 30), time(22), checkin_before=h(0, 15)),
            id="later-window-starts-after-earlier-end",
        ),
        pytest.param(
            Shift("A", time(6), time(14), checkout_after=h(2)),
            Shift("B", time(13), time(22), checkin_before=h(2)),
            id="shifts-themselves-overlap",
        ),
    ],
)
def test_trimmed_windows_are_disjoint_and_hold_their_shift_start(
    first: Shift, second: Shift
) -> None:
    earlier, later = trim_overlaps([instance_of(first, D, BERLIN), instance_of(second, D, BERLIN)])
    assert earlier.window_end <= later.window_start
    assert earlier.window_start <= earlier.start < earlier.window_end
    assert later.window_start <= later.start < later.window_end


# --- attribute / instances_around --------------------------------------------------------------


@pytest.mark.parametrize(
    ("shift_on", "local", "work_date"),
    [
        pytest.param(every_day(DAY), "2026-06-03 08:55", D, id="day-checkin-early"),
        pytest.param(every_day(DAY), "2026-06-03 07:59", None, id="day-before-window-off-shift"),
        pytest.param(every_day(DAY), "2026-06-03 17:59", D, id="day-checkout-late"),
        pytest.param(every_day(DAY), "2026-06-03 18:00", D, id="day-window-end-included"),
        pytest.param(every_day(DAY), "2026-06-03 18:00:01", None, id="day-after-window-off-shift"),
        pytest.param(every_day(DAY), "2026-06-03 02:00", None, id="day-middle-of-night"),
        pytest.param(every_day(NIGHT), "2026-06-04 06:10", D, id="night-out-0610-start-date"),
        pytest.param(every_day(NIGHT), "2026-06-04 06:59", D, id="night-out-0659-start-date"),
        pytest.param(every_day(NIGHT), "2026-06-04 07:01", None, id="night-0701-off-shift"),
        pytest.param(every_day(NIGHT), "2026-06-03 21:00", D, id="night-checkin-early"),
        pytest.param(every_day(NIGHT), "2026-06-04 00:30", D, id="night-after-midnight"),
        pytest.param(every_day(NIGHT), "2026-06-03 12:00", None, id="night-midday-off-shift"),
        pytest.param(every_day(NIGHT), "2026-10-25 06:30", FALL_BACK, id="night-dst-fall-back-out"),
        pytest.param(
            every_day(NIGHT),
            "2026-03-29 06:30",
            SPRING_FORWARD,
            id="night-dst-spring-forward-out",
        ),
        pytest.param(
            by_date({D: NIGHT, D + timedelta(1): MORNING}),
            "2026-06-04 05:59",
            D,
            id="boundary-before-06-goes-to-night",
        ),
        pytest.param(
            by_date({D: NIGHT, D + timedelta(1): MORNING}),
            "2026-06-04 06:00",
            D + timedelta(1),
            id="boundary-at-06-goes-to-morning",
        ),
        pytest.param(
            by_date({D: NIGHT, D + timedelta(1): MORNING}),
            "2026-06-04 06:40",
            D + timedelta(1),
            id="night-checkout-window-given-to-next-shift",
        ),
        pytest.param(
            every_day(WIDE_TWELVE),
            "2026-06-04 07:45",
            D,
            id="12h-nights-wide-windows-before-08",
        ),
        pytest.param(
            every_day(WIDE_TWELVE),
            "2026-06-04 08:15",
            D + timedelta(1),
            id="12h-nights-wide-windows-after-08",
        ),
        pytest.param(
            by_date({D + timedelta(1): Shift("EARLY", time(0, 30), time(8, 30))}),
            "2026-06-03 23:45",
            D + timedelta(1),
            id="checkin-before-midnight-for-next-date",
        ),
        pytest.param(every_day(None), "2026-06-03 09:00", None, id="no-shift"),
    ],
)
def test_attribute(shift_on, local: str, work_date: date | None) -> None:
    instant = wall(local)
    local_day = instant.astimezone(BERLIN).date()
    owner = attribute(instant, local_day, shift_on, BERLIN)
    assert (owner.work_date if owner else None) == work_date


def test_instances_around_builds_three_dates_and_skips_no_shift_days() -> None:
    shift_on = by_date({D - timedelta(1): NIGHT, D + timedelta(1): DAY})
    around = instances_around(D, shift_on, BERLIN)
    assert [i.work_date for i in around] == [D - timedelta(1), D + timedelta(1)]
    assert [i.shift.code for i in around] == ["NIGHT", "DAY"]


def test_instances_around_is_trimmed() -> None:
    around = instances_around(
        D + timedelta(1), by_date({D: NIGHT, D + timedelta(1): MORNING}), BERLIN
    )
    assert [(i.window_start, i.window_end) for i in around] == [
        (wall("2026-06-03 21:00"), wall("2026-06-04 06:00")),
        (wall("2026-06-04 06:00"), wall("2026-06-04 15:00")),
    ]


# --- weekly offs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("sat,sun", {5, 6}, id="sat-sun"),
        pytest.param("mon", {0}, id="single"),
        pytest.param("Fri, SAT", {4, 5}, id="case-and-spaces"),
        pytest.param("saturday,sunday", {5, 6}, id="full-names"),
        pytest.param("sun,sun", {6}, id="duplicates"),
        pytest.param("", set(), id="empty"),
        pytest.param("mon,tue,wed,thu,fri,sat,sun", set(range(7)), id="all"),
    ],
)
def test_parse_weekly_offs(text: str, expected: set[int]) -> None:
    assert parse_weekly_offs(text) == frozenset(expected)


@pytest.mark.parametrize("text", ["sat,xyz", "funday", "1,2", "sa"])
def test_parse_weekly_offs_rejects_unknown_day(text: str) -> None:
    with pytest.raises(ValueError, match="Unknown weekday"):
        parse_weekly_offs(text)


def test_format_weekly_offs_round_trip() -> None:
    assert format_weekly_offs(frozenset({6, 5})) == "sat,sun"
    assert parse_weekly_offs(format_weekly_offs(frozenset({0, 3}))) == {0, 3}


def test_shift_defaults_match_spec() -> None:
    shift = Shift("S", time(9), time(17))
    assert shift.checkin_before == h(1)
    assert shift.checkout_after == h(1)
    assert shift.late_grace == shift.early_grace == timedelta(0)
    assert shift.half_day_below is None
    assert shift.absent_below is None
    assert shift.hours_mode == "first_last"
    assert shift.weekly_offs == frozenset()
    assert Shift("P", time(9), time(17), hours_mode=PAIRS).hours_mode == "pairs"
