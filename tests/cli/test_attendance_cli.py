"""``punchlog shift``, ``holiday``, ``tenant set`` (attendance settings), ``attendance`` and
``correction`` on SQLite and PostgreSQL: shifts and holidays set up from the command line, punches
pushed through the ingest service for days a few days back (Asia/Kolkata), then the day records,
the month register, the export and the corrections read back as a payroll clerk would check them.

Dates are relative to today in the tenant's zone, so the tests never go stale: working days are
at least two days back (every window has closed), the weekly off is the last Sunday.
"""

from __future__ import annotations

import calendar
import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from punchlog.services.store import Store
from tests.cli.conftest import Run, failed, ok, ok_json, push_logs
from tests.support.world import ZONE, World, log

IN, OUT = 0, 1
HOUR = 3600
CSV_HEADER = (
    "employeeNumber,date,dayType,shift,status,firstIn,lastOut,grossSeconds,effectiveSeconds,"
    "breakSeconds,lateBySeconds,earlyBySeconds,overtimeSeconds,provisional"
)


# ------------------------------------------------------------------------------------------
# Dates, punches and reads
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Days:
    """Dates of the timeline, all relative to today in Asia/Kolkata."""

    today: date
    start: date  # GEN assigned to E1 and E2 from here
    working: tuple[date, ...]  # six Monday-Saturday dates, newest first, at least 2 days back
    sunday: date  # the last Sunday before today: GEN's weekly off

    @property
    def on_time(self) -> date:
        return self.working[0]

    @property
    def late(self) -> date:
        return self.working[1]

    @property
    def half(self) -> date:
        return self.working[2]

    @property
    def missing(self) -> date:
        return self.working[3]

    @property
    def absent(self) -> date:
        return self.working[4]

    @property
    def holiday(self) -> date:
        return self.working[5]

    @property
    def night(self) -> date:  # E2's night shift begins on this date
        return self.working[0]


def _today() -> date:
    return datetime.now(UTC).astimezone(ZONE).date()


@pytest.fixture
def days() -> Days:
    today = _today()
    back = [today - timedelta(days=k) for k in range(2, 20)]
    working = tuple(d for d in back if d.weekday() != 6)[:6]
    sunday = next(d for d in (today - timedelta(days=k) for k in range(1, 8)) if d.weekday() == 6)
    return Days(today=today, start=today - timedelta(days=14), working=working, sunday=sunday)


def _wall(day: date, hhmm: str) -> datetime:
    """Wall time ``HH:MM`` or ``HH:MM:SS`` on ``day`` (naive: the device's local time)."""
    return datetime.combine(day, time.fromisoformat(hhmm))


def _local(day: date, hhmm: str) -> str:
    """What the day record shows: local ISO 8601 with Kolkata's offset."""
    return f"{day.isoformat()}T{hhmm}:00+05:30"


def _push(store: Store, world: World, *punches: tuple[str, date, str, int]) -> None:
    """(number, date, 'HH:MM[:SS]', IN/OUT) as the gate device sends them."""
    items: list[object] = [log(n, at=_wall(d, t), status=s) for n, d, t, s in punches]
    result = push_logs(store, world.ingest_key, items)
    assert result.outcomes == ["new"] * len(items), result.outcomes


def _show(run: Run, first: date, last: date, *extra: str) -> dict[tuple[str, str], dict[str, Any]]:
    payload = ok_json(
        run(
            "attendance",
            "show",
            "acme",
            "--from",
            first.isoformat(),
            "--to",
            last.isoformat(),
            *extra,
            "--json",
        )
    )
    assert set(payload) == {"days"}
    records = {(r["employeeNumber"], r["date"]): r for r in payload["days"]}
    assert len(records) == len(payload["days"]), "two records for one (employee, date)"
    return records


def _day(run: Run, number: str, day: date) -> dict[str, Any] | None:
    return _show(run, day, day, "--employee", number).get((number, day.isoformat()))


def _record(run: Run, number: str, day: date) -> dict[str, Any]:
    record = _day(run, number, day)
    assert record is not None, f"no record for {number} on {day}"
    return record


def _shifts(run: Run) -> dict[str, dict[str, Any]]:
    return {s["code"]: s for s in ok_json(run("shift", "list", "acme", "--json"))["shifts"]}


def _tenant(run: Run) -> dict[str, Any]:
    tenants = ok_json(run("tenant", "list", "--json"))["tenants"]
    return next(t for t in tenants if t["slug"] == "acme")


def _corrections(run: Run) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ok_json(run("correction", "list", "acme", "--json"))["corrections"]
    return rows


GEN = ("--start", "09:00", "--end", "18:00", "--late-grace", "10", "--half-day-below", "6")


@pytest.fixture
def general(run: Run, world: World, days: Days) -> Days:
    """GEN 09:00-18:00, 10 minutes' grace, half day below 6 h, Sundays off; E1 and E2 on it."""
    ok_json(run("shift", "create", "acme", "GEN", *GEN, "--weekly-offs", "sun", "--json"))
    for number in ("E1", "E2"):
        ok_json(
            run(
                "shift", "assign", "acme", number, "GEN", "--from", days.start.isoformat(), "--json"
            )
        )
    return days


@pytest.fixture
def timeline(run: Run, store: Store, world: World, general: Days) -> Days:
    """The month a clerk checks (see the module tests for what each day must say)."""
    d = general
    ok_json(run("shift", "create", "acme", "NIGHT", "--start", "22:00", "--end", "06:00", "--json"))
    night = d.night.isoformat()
    ok_json(run("shift", "assign", "acme", "E2", "NIGHT", "--from", night, "--to", night, "--json"))
    ok_json(
        run("holiday", "add", "acme", d.holiday.isoformat(), "--name", "Founders day", "--json")
    )
    _push(
        store,
        world,
        ("E1", d.on_time, "08:55", IN),
        ("E1", d.on_time, "18:05", OUT),
        ("E1", d.late, "09:25", IN),
        ("E1", d.late, "18:00", OUT),
        ("E1", d.half, "09:00", IN),
        ("E1", d.half, "13:00", OUT),
        ("E1", d.missing, "09:05", IN),
        ("E2", d.night, "21:55", IN),
        ("E2", d.night + timedelta(days=1), "06:10", OUT),
        ("E2", d.late, "09:10", IN),  # exactly at the end of the grace: not late
        ("E2", d.late, "18:00", OUT),
        ("E3", d.on_time, "10:00", IN),  # E3 has no shift: a no-shift day
        ("E3", d.on_time, "15:00", OUT),
    )
    return d


# ------------------------------------------------------------------------------------------
# shift create / list
# ------------------------------------------------------------------------------------------


def test_shift_create_with_every_option_prints_the_shift(run: Run, world: World) -> None:
    created = ok_json(
        run(
            "shift",
            "create",
            "acme",
            "NIGHT",
            "--start",
            "22:00",
            "--end",
            "06:00",
            "--name",
            "Night watch",
            "--checkin-before",
            "90",
            "--checkout-after",
            "120",
            "--late-grace",
            "5",
            "--early-grace",
            "15",
            "--half-day-below",
            "5.5",
            "--absent-below",
            "2",
            "--hours-mode",
            "pairs",
            "--weekly-offs",
            "sat,sun",
            "--json",
        )
    )
    expected = {
        "code": "NIGHT",
        "name": "Night watch",
        "start": "22:00",
        "end": "06:00",
        "checkinBefore": 90,
        "checkoutAfter": 120,
        "lateGrace": 5,
        "earlyGrace": 15,
        "halfDayBelowHours": 5.5,
        "absentBelowHours": 2,
        "hoursMode": "pairs",
        "weeklyOffs": "sat,sun",
    }
    assert {k: created.get(k) for k in expected} == expected
    listed = _shifts(run)
    assert set(listed) == {"NIGHT"}
    assert {k: listed["NIGHT"].get(k) for k in expected} == expected


def test_shift_create_defaults_and_list(run: Run, world: World) -> None:
    assert ok_json(run("shift", "list", "acme", "--json")) == {"shifts": []}
    ok_json(run("shift", "create", "acme", "GEN", "--start", "09:00", "--end", "18:00", "--json"))
    ok_json(run("shift", "create", "acme", "LATE", "--start", "13:00", "--end", "21:00", "--json"))
    listed = _shifts(run)
    assert set(listed) == {"GEN", "LATE"}
    defaults = {
        "checkinBefore": 60,
        "checkoutAfter": 60,
        "lateGrace": 0,
        "earlyGrace": 0,
        "halfDayBelowHours": None,
        "absentBelowHours": None,
        "hoursMode": "first_last",
        "weeklyOffs": "",
    }
    assert {k: listed["GEN"].get(k) for k in defaults} == defaults
    assert (listed["LATE"]["start"], listed["LATE"]["end"]) == ("13:00", "21:00")
    human = ok(run("shift", "list", "acme"))
    assert "GEN" in human.stdout
    assert "LATE" in human.stdout
    assert human.stderr == ""


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("GEN", "--start", "10:00", "--end", "19:00"), ("already exists",)),
        (("DAY", "--start", "25:00", "--end", "18:00"), ("25:00", "HH:MM")),
        (("DAY", "--start", "09:00", "--end", "18:60"), ("18:60", "HH:MM")),
        (("DAY", "--start", "9am", "--end", "18:00"), ("9am",)),
        (("DAY", "--start", "09:00", "--end", "18:00", "--hours-mode", "hourly"), ("hourly",)),
        (("DAY", "--start", "09:00", "--end", "18:00", "--weekly-offs", "sat,funday"), ("funday",)),
        (("DAY", "--start", "09:00", "--end", "09:00"), ("same time",)),
    ],
)
def test_shift_create_failures_store_nothing(
    run: Run, world: World, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    ok_json(run("shift", "create", "acme", "GEN", "--start", "09:00", "--end", "18:00", "--json"))
    before = _shifts(run)
    failed(run("shift", "create", "acme", *args, "--json"), *fragments)
    assert _shifts(run) == before


def test_shift_create_for_an_unknown_tenant_fails(run: Run, world: World) -> None:
    failed(run("shift", "create", "nope", "GEN", "--start", "09:00", "--end", "18:00"), "nope")


# ------------------------------------------------------------------------------------------
# shift assign
# ------------------------------------------------------------------------------------------


def test_shift_assign_with_and_without_an_end(run: Run, world: World, days: Days) -> None:
    ok_json(run("shift", "create", "acme", "GEN", *GEN, "--json"))
    day = days.working[1]
    assigned = ok_json(
        run(
            "shift", "assign", "acme", "E3", "GEN", "--from", day.isoformat(),
            "--to", day.isoformat(), "--json",
        )
    )  # fmt: skip
    assert assigned == {
        "employee": "E3",
        "shift": "GEN",
        "from": day.isoformat(),
        "to": day.isoformat(),
    }
    records = _show(run, day - timedelta(days=1), day + timedelta(days=1), "--employee", "E3")
    assert list(records) == [("E3", day.isoformat())]  # only the assigned day has a shift
    assert (
        records[("E3", day.isoformat())]["shift"],
        records[("E3", day.isoformat())]["status"],
    ) == (
        "GEN",
        "absent",
    )

    open_ended = ok_json(
        run("shift", "assign", "acme", "E2", "GEN", "--from", days.start.isoformat(), "--json")
    )
    assert open_ended["to"] is None
    assert open_ended["from"] == days.start.isoformat()
    e2 = _show(run, days.start, days.today - timedelta(days=1), "--employee", "E2")
    assert len(e2) == (days.today - days.start).days  # every day up to yesterday has a record
    assert {r["shift"] for r in e2.values()} == {"GEN"}


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("E3", "NOPE", "--from", "{day}"), ("unknown shift", "NOPE")),
        (("E404", "GEN", "--from", "{day}"), ("unknown employee", "E404")),
        (("E3", "GEN", "--from", "{day}", "--to", "{before}"), ("--to", "before")),
        (("E3", "GEN", "--from", "2026-02-30"), ("2026-02-30",)),
        (("E3", "GEN", "--from", "yesterday"), ("yesterday",)),
        (("E3", "GEN", "--from", "{day}", "--to", "someday"), ("someday",)),
    ],
)
def test_shift_assign_failures_store_nothing(
    run: Run, world: World, days: Days, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    ok_json(run("shift", "create", "acme", "GEN", *GEN, "--json"))
    day = days.working[2]
    values = {"day": day.isoformat(), "before": (day - timedelta(days=1)).isoformat()}
    failed(
        run("shift", "assign", "acme", *(a.format(**values) for a in args), "--json"), *fragments
    )
    # E3 has no shift and no punches: an assignment, had it been stored, would make records.
    assert _show(run, days.start, days.today, "--employee", "E3") == {}


def test_shift_assign_for_an_unknown_tenant_fails(run: Run, world: World, days: Days) -> None:
    failed(run("shift", "assign", "nope", "E1", "GEN", "--from", days.start.isoformat()), "nope")


# ------------------------------------------------------------------------------------------
# holiday add / list
# ------------------------------------------------------------------------------------------


def test_holiday_add_and_list(run: Run, world: World, days: Days) -> None:
    assert ok_json(run("holiday", "list", "acme", "--json")) == {"holidays": []}
    first, second = days.working[3], days.working[1]
    added = ok_json(
        run("holiday", "add", "acme", second.isoformat(), "--name", "Founders day", "--json")
    )
    assert added == {"date": second.isoformat(), "name": "Founders day"}
    ok_json(run("holiday", "add", "acme", first.isoformat(), "--name", "Harvest", "--json"))
    listed = ok_json(run("holiday", "list", "acme", "--json"))["holidays"]
    assert sorted((h["date"], h["name"]) for h in listed) == [
        (first.isoformat(), "Harvest"),
        (second.isoformat(), "Founders day"),
    ]
    human = ok(run("holiday", "list", "acme"))
    assert "Harvest" in human.stdout


def test_holiday_add_bad_date_fails(run: Run, world: World) -> None:
    failed(run("holiday", "add", "acme", "2026-13-01", "--json"), "2026-13-01")
    failed(run("holiday", "add", "nope", "2026-01-26"), "nope")
    assert ok_json(run("holiday", "list", "acme", "--json")) == {"holidays": []}


# ------------------------------------------------------------------------------------------
# tenant set --default-shift / --bounce-seconds
# ------------------------------------------------------------------------------------------


def test_tenant_set_default_shift_and_bounce(run: Run, world: World, days: Days) -> None:
    assert _tenant(run)["bounceSeconds"] == 60
    ok_json(run("shift", "create", "acme", "GEN", *GEN, "--json"))
    day = days.working[0]
    assert _day(run, "E3", day) is None  # no shift, no punches: no record
    updated = ok_json(
        run("tenant", "set", "acme", "--default-shift", "GEN", "--bounce-seconds", "30", "--json")
    )
    assert updated["bounceSeconds"] == 30
    assert updated["slug"] == "acme"
    assert _tenant(run)["bounceSeconds"] == 30
    e3 = _record(run, "E3", day)  # the default shift: absent without a punch
    assert (e3["shift"], e3["dayType"], e3["status"], e3["punches"]) == (
        "GEN",
        "working_day",
        "absent",
        [],
    )
    # '' clears the default shift again
    ok_json(run("tenant", "set", "acme", "--default-shift", "", "--json"))
    assert _day(run, "E3", day) is None


def test_tenant_set_unknown_default_shift_changes_nothing(
    run: Run, world: World, days: Days
) -> None:
    failed(run("tenant", "set", "acme", "--default-shift", "NOPE", "--json"), "NOPE")
    failed(
        run("tenant", "set", "acme", "--bounce-seconds", "30", "--default-shift", "NOPE"), "NOPE"
    )
    assert _tenant(run)["bounceSeconds"] == 60
    assert _day(run, "E3", days.working[0]) is None


def test_tenant_set_failing_on_the_shift_keeps_the_time_zone(run: Run, world: World) -> None:
    """A failed command stores nothing: not even the settings named before the bad one."""
    failed(
        run("tenant", "set", "acme", "--timezone", "Europe/Berlin", "--default-shift", "NOPE"),
        "NOPE",
    )
    assert _tenant(run)["timezone"] == "Asia/Kolkata"


def test_tenant_set_bad_bounce_seconds_fails(run: Run, world: World) -> None:
    failed(run("tenant", "set", "acme", "--bounce-seconds", "-1"), "bounce")
    failed(run("tenant", "set", "acme", "--bounce-seconds", "many"), "bounce-seconds")
    assert _tenant(run)["bounceSeconds"] == 60


def test_bounce_seconds_decide_which_punch_counts(
    run: Run, store: Store, world: World, general: Days
) -> None:
    day = general.working[0]
    _push(
        store,
        world,
        ("E1", day, "09:00:00", IN),
        ("E1", day, "09:00:45", IN),  # 45 s later, same direction
        ("E1", day, "18:00:00", OUT),
    )
    before = _record(run, "E1", day)
    assert [(p["time"], p["counted"], p.get("reason")) for p in before["punches"]] == [
        (_local(day, "09:00"), True, None),
        (f"{day.isoformat()}T09:00:45+05:30", False, "bounce"),
        (_local(day, "18:00"), True, None),
    ]
    ok_json(run("tenant", "set", "acme", "--bounce-seconds", "30", "--json"))
    after = _record(run, "E1", day)
    assert [p["counted"] for p in after["punches"]] == [True, True, True]
    assert (after["status"], after["firstIn"], after["grossSeconds"]) == (
        "present",
        _local(day, "09:00"),
        9 * HOUR,
    )


# ------------------------------------------------------------------------------------------
# attendance show
# ------------------------------------------------------------------------------------------


def _fields(record: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: record[n] for n in names}


TIMES = ("status", "dayType", "shift", "firstIn", "lastOut")
SECONDS = (
    "grossSeconds",
    "effectiveSeconds",
    "breakSeconds",
    "lateBySeconds",
    "earlyBySeconds",
    "overtimeSeconds",
)


def test_attendance_show_computes_each_day_as_a_clerk_would(run: Run, timeline: Days) -> None:
    d = timeline
    records = _show(run, d.start, d.today - timedelta(days=1))

    def rec(number: str, day: date) -> dict[str, Any]:
        record = records.get((number, day.isoformat()))
        assert record is not None, f"no record for {number} on {day}"
        assert record["provisional"] is False, record  # every window here has closed
        return record

    on_time = rec("E1", d.on_time)
    assert _fields(on_time, *TIMES) == {
        "status": "present",
        "dayType": "working_day",
        "shift": "GEN",
        "firstIn": _local(d.on_time, "08:55"),
        "lastOut": _local(d.on_time, "18:05"),
    }
    assert _fields(on_time, *SECONDS) == {
        "grossSeconds": 9 * HOUR + 600,
        "effectiveSeconds": 9 * HOUR + 600,
        "breakSeconds": 0,
        "lateBySeconds": 0,
        "earlyBySeconds": 0,
        "overtimeSeconds": 600,
    }
    assert [(p["direction"], p["counted"], p["source"]) for p in on_time["punches"]] == [
        ("in", True, "api"),
        ("out", True, "api"),
    ]

    late = rec("E1", d.late)
    assert (late["status"], late["firstIn"], late["lateBySeconds"]) == (
        "present",
        _local(d.late, "09:25"),
        25 * 60,
    )
    assert (late["grossSeconds"], late["earlyBySeconds"], late["overtimeSeconds"]) == (
        8 * HOUR + 35 * 60,
        0,
        0,
    )

    at_grace = rec("E2", d.late)  # 09:10 with 10 minutes' grace: on time
    assert (at_grace["status"], at_grace["lateBySeconds"]) == ("present", 0)

    half = rec("E1", d.half)
    assert _fields(half, "status", "firstIn", "lastOut") == {
        "status": "half_day",
        "firstIn": _local(d.half, "09:00"),
        "lastOut": _local(d.half, "13:00"),
    }
    assert (half["grossSeconds"], half["lateBySeconds"], half["earlyBySeconds"]) == (
        4 * HOUR,
        0,
        5 * HOUR,
    )

    missing = rec("E1", d.missing)
    assert _fields(missing, *TIMES) == {
        "status": "missing_punch",
        "dayType": "working_day",
        "shift": "GEN",
        "firstIn": _local(d.missing, "09:05"),
        "lastOut": None,
    }
    assert (missing["grossSeconds"], missing["lateBySeconds"]) == (0, 0)

    absent = rec("E1", d.absent)
    assert _fields(absent, *TIMES) == {
        "status": "absent",
        "dayType": "working_day",
        "shift": "GEN",
        "firstIn": None,
        "lastOut": None,
    }
    assert absent["punches"] == []
    assert absent["grossSeconds"] == 0

    for number in ("E1", "E2"):
        holiday = rec(number, d.holiday)
        assert (holiday["dayType"], holiday["status"], holiday["punches"]) == (
            "holiday",
            "holiday",
            [],
        )
        weekly_off = rec(number, d.sunday)
        assert (weekly_off["dayType"], weekly_off["status"], weekly_off["shift"]) == (
            "weekly_off",
            "weekly_off",
            "GEN",
        )

    night = rec("E2", d.night)  # 21:55 -> 06:10 the next morning: the day it began
    next_morning = d.night + timedelta(days=1)
    assert _fields(night, *TIMES) == {
        "status": "present",
        "dayType": "working_day",
        "shift": "NIGHT",
        "firstIn": _local(d.night, "21:55"),
        "lastOut": _local(next_morning, "06:10"),
    }
    assert (night["grossSeconds"], night["lateBySeconds"], night["overtimeSeconds"]) == (
        8 * HOUR + 15 * 60,
        0,
        15 * 60,
    )
    assert [p["time"] for p in night["punches"]] == [
        _local(d.night, "21:55"),
        _local(next_morning, "06:10"),
    ]
    after_night = rec("E2", next_morning)  # back on GEN: the 06:10 punch is not its
    assert after_night["punches"] == []
    assert after_night["status"] == ("weekly_off" if next_morning.weekday() == 6 else "absent")

    no_shift = rec("E3", d.on_time)
    assert _fields(no_shift, *TIMES) == {
        "status": "present",
        "dayType": "working_day",
        "shift": None,
        "firstIn": _local(d.on_time, "10:00"),
        "lastOut": _local(d.on_time, "15:00"),
    }
    assert (no_shift["grossSeconds"], no_shift["lateBySeconds"], no_shift["earlyBySeconds"]) == (
        5 * HOUR,
        0,
        0,
    )
    # E3 has no shift: a record only on the day with punches
    assert [k for k in records if k[0] == "E3"] == [("E3", d.on_time.isoformat())]


def test_attendance_show_filters_by_employee(run: Run, timeline: Days) -> None:
    d = timeline
    records = _show(run, d.start, d.today - timedelta(days=1), "--employee", "E2")
    assert records
    assert {number for number, _ in records} == {"E2"}
    everyone = _show(run, d.start, d.today - timedelta(days=1))
    assert {number for number, _ in everyone} == {"E1", "E2", "E3"}
    assert {k: v for k, v in everyone.items() if k[0] == "E2"} == records


def test_attendance_show_in_pairs_mode_counts_breaks(
    run: Run, store: Store, world: World, days: Days
) -> None:
    ok_json(
        run(
            "shift", "create", "acme", "SPLIT", "--start", "09:00", "--end", "18:00",
            "--hours-mode", "pairs", "--half-day-below", "8.5", "--absent-below", "2", "--json",
        )
    )  # fmt: skip
    day = days.working[0]
    ok_json(run("shift", "assign", "acme", "E3", "SPLIT", "--from", day.isoformat(), "--json"))
    _push(
        store,
        world,
        ("E3", day, "09:00", IN),
        ("E3", day, "13:00", OUT),
        ("E3", day, "14:00", IN),
        ("E3", day, "18:00", OUT),
    )
    record = _record(run, "E3", day)
    assert _fields(
        record, "status", "shift", "grossSeconds", "effectiveSeconds", "breakSeconds"
    ) == {
        "status": "half_day",  # 8 h worked in pairs mode, below 8.5; gross 9 h would be present
        "shift": "SPLIT",
        "grossSeconds": 9 * HOUR,
        "effectiveSeconds": 8 * HOUR,
        "breakSeconds": HOUR,
    }


def test_attendance_show_human_output(run: Run, timeline: Days) -> None:
    d = timeline
    result = ok(
        run("attendance", "show", "acme", "--from", d.late.isoformat(), "--to", d.late.isoformat())
    )
    assert "E1" in result.stdout
    assert "09:25" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("first", "last", "fragments"),
    [
        ("2026-02-30", "2026-03-01", ("2026-02-30",)),
        ("2026-03-01", "March", ("March",)),
        ("2026-03-10", "2026-03-01", ("before",)),
    ],
)
def test_attendance_show_bad_range_fails(
    run: Run, world: World, first: str, last: str, fragments: tuple[str, ...]
) -> None:
    failed(run("attendance", "show", "acme", "--from", first, "--to", last, "--json"), *fragments)


def test_attendance_show_unknown_tenant_fails(run: Run, world: World, days: Days) -> None:
    day = days.working[0].isoformat()
    failed(run("attendance", "show", "nope", "--from", day, "--to", day), "nope")


# ------------------------------------------------------------------------------------------
# attendance register
# ------------------------------------------------------------------------------------------


def _expected_codes(d: Days, month: tuple[int, int]) -> dict[str, dict[str, str]]:
    """The clerk's register of the timeline for one month: (employee -> date -> code); today
    is left out (its window may still be open)."""
    year, number = month
    dates = [date(year, number, i) for i in range(1, calendar.monthrange(year, number)[1] + 1)]
    punched = {
        "E1": {d.on_time: "P", d.late: "P", d.half: "HD", d.missing: "MP"},
        "E2": {d.night: "P", d.late: "P"},
    }
    grid: dict[str, dict[str, str]] = {}
    for employee in ("E1", "E2"):
        row = grid.setdefault(employee, {})
        for day in dates:
            if day < d.start or day > d.today:
                row[day.isoformat()] = "-"
            elif day == d.today:
                continue
            elif day == d.holiday:
                row[day.isoformat()] = "H"
            elif day.weekday() == 6:
                row[day.isoformat()] = "WO"
            else:
                row[day.isoformat()] = punched[employee].get(day, "A")
    grid["E3"] = {
        day.isoformat(): ("P" if day == d.on_time else "-") for day in dates if day != d.today
    }
    return grid


def _months(d: Days) -> list[tuple[int, int]]:
    seen = {(day.year, day.month) for day in (d.start, *d.working, d.sunday, d.today)}
    return sorted(seen)


def _check_register(
    expected: dict[str, dict[str, str]], dates: list[str], rows: dict[str, list[str]]
) -> None:
    for employee, codes in expected.items():
        if employee not in rows:
            assert set(codes.values()) <= {"-"}, f"{employee} missing from the register"
            continue
        got = dict(zip(dates, rows[employee], strict=True))
        assert {k: got[k] for k in codes} == codes, employee
    assert set(rows) <= {"E1", "E2", "E3"}


def test_attendance_register_csv(run: Run, timeline: Days) -> None:
    d = timeline
    for year, number in _months(d):
        month = f"{year:04d}-{number:02d}"
        result = ok(run("attendance", "register", "acme", "--month", month, "--csv"))
        assert result.stderr == ""
        lines = list(csv.reader(io.StringIO(result.stdout)))
        last = calendar.monthrange(year, number)[1]
        dates = [f"{month}-{i:02d}" for i in range(1, last + 1)]
        assert lines[0] == ["employee", *dates]
        assert all(len(line) == last + 1 for line in lines[1:])
        rows = {line[0]: line[1:] for line in lines[1:]}
        assert len(rows) == len(lines) - 1, "one row per employee"
        assert [line[0] for line in lines[1:]] == sorted(rows)
        _check_register(_expected_codes(d, (year, number)), dates, rows)
    # the on-time day's month has all three employees
    month = d.on_time.strftime("%Y-%m")
    lines = list(
        csv.reader(
            io.StringIO(ok(run("attendance", "register", "acme", "--month", month, "--csv")).stdout)
        )
    )
    assert [line[0] for line in lines[1:]] == ["E1", "E2", "E3"]


def test_attendance_register_json_matches_csv(run: Run, timeline: Days) -> None:
    d = timeline
    month = d.half.strftime("%Y-%m")
    grid = ok_json(run("attendance", "register", "acme", "--month", month, "--json"))
    year, number = d.half.year, d.half.month
    dates = [f"{month}-{i:02d}" for i in range(1, calendar.monthrange(year, number)[1] + 1)]
    assert grid["month"] == month
    assert grid["dates"] == dates
    rows = {r["employeeNumber"]: r["days"] for r in grid["rows"]}
    _check_register(_expected_codes(d, (year, number)), dates, rows)
    assert rows["E1"][dates.index(d.half.isoformat())] == "HD"
    text = ok(run("attendance", "register", "acme", "--month", month, "--csv")).stdout
    lines = list(csv.reader(io.StringIO(text)))
    assert {line[0]: line[1:] for line in lines[1:]} == rows


def test_attendance_register_table_shows_employees_and_codes(run: Run, timeline: Days) -> None:
    """Without --csv the register is a table for a person at a terminal (80 columns here, the
    width of a terminal that says nothing): it must still show who and which codes."""
    d = timeline
    result = ok(run("attendance", "register", "acme", "--month", d.half.strftime("%Y-%m")))
    assert result.stderr == ""
    for words in ("E1", "E2", "HD"):
        assert words in result.stdout, result.stdout


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-1", "June", "2026-06-01"])
def test_attendance_register_bad_month_fails(run: Run, world: World, month: str) -> None:
    failed(run("attendance", "register", "acme", "--month", month, "--csv"), month)


# ------------------------------------------------------------------------------------------
# attendance export
# ------------------------------------------------------------------------------------------


def test_attendance_export_csv_to_a_file(run: Run, timeline: Days, tmp_path: Path) -> None:
    d = timeline
    first, last = d.working[2], d.working[0]
    records = _show(run, first, last)
    target = tmp_path / "days.csv"
    summary = ok_json(
        run(
            "attendance", "export", "acme", "--from", first.isoformat(), "--to", last.isoformat(),
            "--format", "csv", "--output", str(target), "--json",
        )
    )  # fmt: skip
    assert summary["records"] == len(records)
    assert summary["format"] == "csv"
    assert Path(summary["output"]) == target
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0] == CSV_HEADER
    assert len(lines) == len(records) + 1
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    by_key = {(r["employeeNumber"], r["date"]): r for r in rows}
    assert set(by_key) == set(records)
    late = by_key[("E1", d.late.isoformat())]
    assert (late["status"], late["firstIn"], late["lateBySeconds"], late["shift"]) == (
        "present",
        _local(d.late, "09:25"),
        "1500",
        "GEN",
    )
    assert by_key[("E1", d.half.isoformat())]["status"] == "half_day"


def test_attendance_export_json_to_stdout(run: Run, timeline: Days) -> None:
    d = timeline
    first, last = d.working[3], d.working[0]
    exported = ok_json(
        run(
            "attendance", "export", "acme", "--from", first.isoformat(), "--to", last.isoformat(),
            "--format", "json",
        )
    )  # fmt: skip
    assert set(exported) == {"days"}
    by_key = {(r["employeeNumber"], r["date"]): r for r in exported["days"]}
    assert by_key == _show(run, first, last)
    assert by_key[("E1", d.missing.isoformat())]["status"] == "missing_punch"


def test_attendance_export_csv_to_stdout(run: Run, timeline: Days) -> None:
    day = timeline.on_time.isoformat()
    result = ok(run("attendance", "export", "acme", "--from", day, "--to", day))
    lines = result.stdout.splitlines()
    assert lines[0] == CSV_HEADER
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["E1", "E2", "E3"]


def test_attendance_export_failures(run: Run, timeline: Days, tmp_path: Path) -> None:
    day = timeline.on_time.isoformat()
    target = tmp_path / "days.xml"
    span = ("--from", day, "--to", day)
    failed(
        run("attendance", "export", "acme", *span, "--format", "xml", "--output", str(target)),
        "xml",
    )
    assert not target.exists()
    failed(run("attendance", "export", "acme", *span, "--format", "csv", "--json"), "--output")
    failed(run("attendance", "export", "acme", "--from", day, "--to", "2020-01-01"), "before")


# ------------------------------------------------------------------------------------------
# corrections
# ------------------------------------------------------------------------------------------


def test_correction_add_punch_fixes_a_missing_punch(
    run: Run, store: Store, world: World, general: Days
) -> None:
    day = general.working[1]
    _push(store, world, ("E1", day, "09:00", IN))
    assert _record(run, "E1", day)["status"] == "missing_punch"
    added = ok_json(
        run(
            "correction", "add-punch", "acme", "E1", "--time", f"{day.isoformat()}T18:00:00",
            "--direction", "out", "--reason", "forgot", "--actor", "hr:test", "--json",
        )
    )  # fmt: skip
    assert isinstance(added["punchId"], int)
    fixed = _record(run, "E1", day)
    assert _fields(fixed, "status", "firstIn", "lastOut", "grossSeconds", "earlyBySeconds") == {
        "status": "present",
        "firstIn": _local(day, "09:00"),
        "lastOut": _local(day, "18:00"),
        "grossSeconds": 9 * HOUR,
        "earlyBySeconds": 0,
    }
    assert [(p["source"], p["direction"], p["counted"]) for p in fixed["punches"]] == [
        ("api", "in", True),
        ("manual", "out", True),
    ]
    assert fixed["punches"][1]["id"] == added["punchId"]


def test_correction_exclude_recomputes_the_day(
    run: Run, store: Store, world: World, general: Days
) -> None:
    day = general.working[2]
    _push(store, world, ("E2", day, "09:00", IN), ("E2", day, "12:00", OUT))
    before = _record(run, "E2", day)
    assert (before["status"], before["earlyBySeconds"]) == ("half_day", 6 * HOUR)
    wrong = before["punches"][1]["id"]
    excluded = ok_json(
        run(
            "correction", "exclude", "acme", str(wrong), "--reason", "badge swiped by a visitor",
            "--actor", "hr:test", "--json",
        )
    )  # fmt: skip
    assert excluded["punchId"] == wrong
    after = _record(run, "E2", day)
    assert _fields(after, "status", "lastOut", "grossSeconds", "earlyBySeconds") == {
        "status": "missing_punch",
        "lastOut": None,
        "grossSeconds": 0,
        "earlyBySeconds": 0,
    }
    still_listed = {p["id"]: p for p in after["punches"]}
    assert set(still_listed) == {p["id"] for p in before["punches"]}
    assert (still_listed[wrong]["counted"], still_listed[wrong].get("reason")) == (
        False,
        "excluded",
    )
    assert still_listed[before["punches"][0]["id"]]["counted"] is True

    trail = _corrections(run)
    failed(run("correction", "exclude", "acme", str(wrong), "--reason", "again"), "already")
    failed(run("correction", "exclude", "acme", "999999", "--reason", "none"), "999999")
    assert _corrections(run) == trail  # the failures left no trace


def test_correction_exclude_usage_errors(
    run: Run, store: Store, world: World, general: Days
) -> None:
    day = general.working[2]
    _push(store, world, ("E2", day, "09:00", IN))
    punch = _record(run, "E2", day)["punches"][0]["id"]
    result = run("correction", "exclude", "acme", str(punch), "--json")
    failed(result, "--reason")
    assert result.exit_code == 2
    result = run("correction", "exclude", "acme", "first", "--reason", "x")
    failed(result, "punch_id")
    assert result.exit_code == 2
    failed(run("correction", "exclude", "acme", str(punch), "--reason", "  "), "reason")
    assert _corrections(run) == []
    assert _record(run, "E2", day)["punches"][0]["counted"] is True


@pytest.mark.parametrize(
    ("args", "fragments", "code"),
    [
        (("E1", "--time", "{day}T18:00:00", "--direction", "out"), ("--reason",), 2),
        (("E404", "--time", "{day}T18:00:00", "--direction", "out", "--reason", "r"), ("E404",), 1),
        (("E1", "--time", "{day}T18:00:00", "--direction", "up", "--reason", "r"), ("up",), 1),
        (("E1", "--time", "yesterday", "--direction", "out", "--reason", "r"), ("yesterday",), 1),
        (("E1", "--time", "{future}", "--direction", "out", "--reason", "r"), ("future",), 1),
        (("E1", "--time", "{day}T18:00:00", "--direction", "out", "--reason", " "), ("reason",), 1),
    ],
)
def test_correction_add_punch_failures_store_nothing(
    run: Run,
    world: World,
    general: Days,
    args: tuple[str, ...],
    fragments: tuple[str, ...],
    code: int,
) -> None:
    day = general.working[1]
    values = {"day": day.isoformat(), "future": f"{general.today + timedelta(days=2)}T09:00:00"}
    result = run("correction", "add-punch", "acme", *(a.format(**values) for a in args), "--json")
    failed(result, *fragments)
    assert result.exit_code == code
    assert _corrections(run) == []
    assert _record(run, "E1", day)["punches"] == []


def test_correction_list_is_the_audit_trail(
    run: Run, store: Store, world: World, general: Days
) -> None:
    assert ok_json(run("correction", "list", "acme", "--json")) == {"corrections": []}
    day = general.working[3]
    _push(store, world, ("E1", day, "09:00", IN), ("E1", day, "11:00", OUT))
    stray = _record(run, "E1", day)["punches"][1]["id"]
    started = datetime.now(UTC)
    ok_json(
        run(
            "correction", "exclude", "acme", str(stray), "--reason", "visitor",
            "--actor", "hr:asha", "--json",
        )
    )  # fmt: skip
    added = ok_json(
        run(
            "correction", "add-punch", "acme", "E1", "--time", f"{day.isoformat()}T18:00:00",
            "--direction", "out", "--reason", "forgot", "--actor", "hr:test", "--json",
        )
    )  # fmt: skip
    ok_json(
        run(
            "correction", "add-punch", "acme", "E2", "--time", f"{day.isoformat()}T09:00:00",
            "--direction", "in", "--reason", "card at home", "--json",
        )
    )  # fmt: skip
    trail = _corrections(run)
    assert [(c["kind"], c["employeeNumber"], c["actor"], c["reason"]) for c in trail] == [
        ("exclude", "E1", "hr:asha", "visitor"),
        ("add_punch", "E1", "hr:test", "forgot"),
        ("add_punch", "E2", trail[2]["actor"], "card at home"),
    ]
    assert trail[2]["actor"].startswith("cli")  # no --actor: the operator's login
    assert (trail[0]["punchId"], trail[1]["punchId"]) == (stray, added["punchId"])
    assert len({c["id"] for c in trail}) == 3
    for correction in trail:
        created = datetime.fromisoformat(correction["createdAt"])
        assert created.tzinfo is not None, correction["createdAt"]
        assert started - timedelta(seconds=5) <= created <= datetime.now(UTC)
    assert datetime.fromisoformat(trail[1]["punchTime"]) == datetime.fromisoformat(
        _local(day, "18:00")
    )
    fixed = _record(run, "E1", day)
    assert (fixed["status"], fixed["lastOut"]) == ("present", _local(day, "18:00"))
    human = ok(run("correction", "list", "acme"))
    assert "hr:asha" in human.stdout
    assert "forgot" in human.stdout


def test_correction_for_an_unknown_tenant_fails(run: Run, world: World) -> None:
    failed(run("correction", "list", "nope", "--json"), "nope")
    failed(run("correction", "exclude", "nope", "1", "--reason", "r"), "nope")


# ------------------------------------------------------------------------------------------
# --help
# ------------------------------------------------------------------------------------------

HELP = [
    ("shift",),
    ("shift", "create"),
    ("shift", "list"),
    ("shift", "assign"),
    ("holiday",),
    ("holiday", "add"),
    ("holiday", "list"),
    ("tenant", "set"),
    ("attendance",),
    ("attendance", "show"),
    ("attendance", "register"),
    ("attendance", "export"),
    ("correction",),
    ("correction", "add-punch"),
    ("correction", "exclude"),
    ("correction", "list"),
]


@pytest.mark.parametrize("command", HELP, ids=" ".join)
def test_help_exits_zero(run: Run, command: tuple[str, ...]) -> None:
    result = ok(run(*command, "--help"))
    assert "Usage" in result.stdout
    assert result.stderr == ""
    if len(command) == 2:
        assert "--json" in result.stdout
    else:  # a group's help names its commands
        for sub in (c[1] for c in HELP if len(c) == 2 and c[0] == command[0]):
            assert sub in result.stdout, sub
    if command == ("tenant", "set"):
        assert "--default-shift" in result.stdout
        assert "--bounce-seconds" in result.stdout


def test_json_anywhere_after_the_command_name(run: Run, timeline: Days) -> None:
    day = timeline.late.isoformat()
    payload = ok_json(
        run("attendance", "show", "--json", "acme", "--from", day, "--to", day, "--employee", "E1")
    )
    assert [r["status"] for r in payload["days"]] == ["present"]
