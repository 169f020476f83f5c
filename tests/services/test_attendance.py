"""The engine over the database (SQLite and PostgreSQL): recompute on late logs, on attach, on
assignment changes and corrections; absent days without punches; the punch feed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from punchlog.errors import Conflict, InvalidInput, NotFound
from punchlog.services import attendance, corrections, employees, ingest, keys, shifts, tenants
from punchlog.services.employees import EmployeeIn
from punchlog.services.shifts import ShiftIn
from punchlog.services.store import Store
from tests.support.world import DEVICE, ZONE, World, log

LIMITS = ingest.Limits()


def _push(store: Store, world: World, items: list[Any]) -> ingest.IngestResult:
    principal = keys.authenticate(store, world.ingest_key, now=datetime.now(UTC))
    sender = ingest.Sender(principal.tenant_id, principal.key_id, "r", principal.policy)
    return ingest.ingest_batch(store, sender, items, now=datetime.now(UTC), limits=LIMITS)


def _day(store: Store, world: World, number: str, day: date) -> dict[str, Any] | None:
    found = attendance.days_for(store, world.slug, first=day, last=day, employee=number)
    return found[0] if found else None


def _wall(day: date, hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute)


@pytest.fixture
def days_ago() -> date:
    """A working day a few days back, in the tenant's zone (not a Sunday: weekly off below)."""
    day = datetime.now(UTC).astimezone(ZONE).date() - timedelta(days=3)
    return day if day.weekday() != 6 else day - timedelta(days=1)


@pytest.fixture
def general(store: Store, world: World, days_ago: date) -> date:
    shifts.create_shift(
        store,
        world.slug,
        ShiftIn("GEN", "09:00", "18:00", late_grace=10, half_day_below_hours=6, weekly_offs="sun"),
    )
    start = days_ago - timedelta(days=7)
    for number in ("E1", "E2"):
        shifts.assign_shift(store, world.slug, number, "GEN", from_date=start, to_date=None)
    return days_ago


def test_a_late_log_recomputes_its_day(store: Store, world: World, general: date) -> None:
    day = general
    _push(store, world, [log("E1", at=_wall(day, "09:02"), status=0)])
    first = _day(store, world, "E1", day)
    assert first is not None
    assert first["status"] == "missing_punch"
    _push(store, world, [log("E1", at=_wall(day, "18:05"), status=1)])  # arrives days late
    again = _day(store, world, "E1", day)
    assert again is not None
    assert again["status"] == "present"
    assert again["grossSeconds"] == 9 * 3600 + 3 * 60
    assert again["lateBySeconds"] == 0  # within the 10-minute grace
    assert again["provisional"] is False
    assert [p["counted"] for p in again["punches"]] == [True, True]


def test_absent_days_exist_without_any_punch(store: Store, world: World, general: date) -> None:
    record = _day(store, world, "E2", general)
    assert record is not None
    assert (record["status"], record["shift"], record["punches"]) == ("absent", "GEN", [])


def test_held_logs_count_once_the_number_is_registered(
    store: Store, world: World, general: date
) -> None:
    day = general
    _push(
        store,
        world,
        [log("N7", at=_wall(day, "09:00")), log("N7", at=_wall(day, "17:00"), status=1)],
    )
    employees.add_employee(store, world.slug, EmployeeIn("N7"))
    shifts.assign_shift(store, world.slug, "N7", "GEN", from_date=day, to_date=day)
    record = _day(store, world, "N7", day)
    assert record is not None
    assert record["status"] == "present"
    assert record["earlyBySeconds"] == 3600


def test_an_assignment_change_recomputes(store: Store, world: World, general: date) -> None:
    day = general
    _push(
        store,
        world,
        [log("E1", at=_wall(day, "13:00")), log("E1", at=_wall(day, "21:00"), status=1)],
    )
    before = _day(store, world, "E1", day)
    assert before is not None
    assert before["lateBySeconds"] == 4 * 3600
    shifts.create_shift(store, world.slug, ShiftIn("LATE", "13:00", "21:00"))
    shifts.assign_shift(store, world.slug, "E1", "LATE", from_date=day, to_date=day)
    after = _day(store, world, "E1", day)
    assert after is not None
    assert (after["shift"], after["lateBySeconds"], after["status"]) == ("LATE", 0, "present")


def test_corrections_add_and_exclude_with_an_audit_trail(
    store: Store, world: World, general: date
) -> None:
    day = general
    _push(
        store,
        world,
        [log("E1", at=_wall(day, "09:00")), log("E1", at=_wall(day, "12:00"), status=1)],
    )
    record = _day(store, world, "E1", day)
    assert record is not None
    assert record["status"] == "half_day"
    wrong_out = record["punches"][1]["id"]

    corrections.exclude_punch(
        store, world.slug, wrong_out, reason="badge swipe by mistake", actor="hr:asha"
    )
    corrections.add_punch(
        store,
        world.slug,
        "E1",
        local_time=_wall(day, "18:00").isoformat(),
        direction="out",
        reason="forgot to punch out",
        actor="hr:asha",
    )
    fixed = _day(store, world, "E1", day)
    assert fixed is not None
    assert fixed["status"] == "present"
    assert fixed["grossSeconds"] == 9 * 3600
    by_source = {(p["source"], p["counted"]) for p in fixed["punches"]}
    assert by_source == {("api", True), ("api", False), ("manual", True)}

    trail = corrections.list_corrections(store, world.slug)
    assert [(c["kind"], c["actor"]) for c in trail] == [
        ("exclude", "hr:asha"),
        ("add_punch", "hr:asha"),
    ]
    assert trail[0]["punchId"] == wrong_out
    with pytest.raises(Conflict):
        corrections.exclude_punch(store, world.slug, wrong_out, reason="again", actor="x")
    with pytest.raises(NotFound):
        corrections.exclude_punch(store, world.slug, 999_999, reason="none", actor="x")
    with pytest.raises(InvalidInput):
        corrections.add_punch(
            store, world.slug, "E1", local_time="yesterday", direction="in", reason="r", actor="a"
        )


def test_a_holiday_and_the_default_shift_change_the_days(
    store: Store, world: World, general: date
) -> None:
    day = general
    shifts.add_holiday(store, world.slug, day, name="Founders day")
    record = _day(store, world, "E1", day)
    assert record is not None
    assert (record["dayType"], record["status"]) == ("holiday", "holiday")
    assert _day(store, world, "E3", day) is None  # no shift, no punches: no record
    tenants_before = tenants.get_tenant(store, world.slug)
    shifts.set_attendance_settings(store, world.slug, default_shift="GEN", bounce_seconds=30)
    e3 = _day(store, world, "E3", day - timedelta(days=1))
    assert e3 is not None
    assert e3["shift"] == "GEN"
    assert tenants.get_tenant(store, world.slug).bounce_seconds == 30
    assert tenants_before.bounce_seconds == 60


def test_the_feed_lists_every_punch_in_arrival_order_and_keeps_an_empty_cursor(
    store: Store, world: World
) -> None:
    _push(store, world, [log("E1", minutes_ago=30), log("NEW", minutes_ago=20)])
    tenant_id = keys.authenticate(store, world.read_key, now=datetime.now(UTC)).tenant_id
    page = attendance.feed(store, tenant_id, since=None, limit=1)
    assert [p["employeeNumber"] for p in page["data"]] == ["E1"]
    assert page["data"][0]["deviceIdentifier"] == DEVICE
    assert page["data"][0]["timestamp"].endswith("Z")
    assert page["data"][0]["localTime"].endswith("+05:30")
    second = attendance.feed(store, tenant_id, since=page["nextCursor"], limit=10)
    assert [(p["employeeNumber"], p["matched"]) for p in second["data"]] == [("NEW", False)]
    empty = attendance.feed(store, tenant_id, since=second["nextCursor"], limit=10)
    assert empty["data"] == []
    assert empty["nextCursor"] == second["nextCursor"]
    _push(store, world, [log("E2", minutes_ago=5)])
    third = attendance.feed(store, tenant_id, since=empty["nextCursor"], limit=10)
    assert [p["employeeNumber"] for p in third["data"]] == ["E2"]
    with pytest.raises(InvalidInput):
        attendance.feed(store, tenant_id, since="garbage", limit=10)


def test_pagination_and_the_93_day_limit(store: Store, world: World, general: date) -> None:
    tenant = tenants.get_tenant(store, world.slug)
    first = general - timedelta(days=6)
    page = attendance.read_days(store, tenant, first=first, last=general, page=1, page_size=5)
    total = page.total_records
    assert total >= 12  # two employees on GEN for 7 days, some weekly offs
    assert page.total_pages == -(-total // 5)
    seen = []
    for number in range(1, page.total_pages + 1):
        chunk = attendance.read_days(
            store, tenant, first=first, last=general, page=number, page_size=5
        )
        seen.extend((r["employeeNumber"], r["date"]) for r in chunk.records)
    assert len(seen) == total
    assert seen == sorted(seen)
    with pytest.raises(InvalidInput, match="93"):
        attendance.read_days(store, tenant, first=first, last=first + timedelta(days=93))


def test_a_leaving_date_removes_the_days_after_it(
    store: Store, world: World, general: date
) -> None:
    day = general
    assert _day(store, world, "E2", day) is not None  # absent, on GEN
    employees.upsert_employees(
        store, world.slug, [EmployeeIn("E2", "Employee E2", left_on=day - timedelta(days=1))]
    )
    assert _day(store, world, "E2", day) is None
    assert _day(store, world, "E2", day - timedelta(days=1)) is not None
    employees.deactivate_employee(store, world.slug, "E1", left_on=day - timedelta(days=2))
    assert _day(store, world, "E1", day - timedelta(days=1)) is None
