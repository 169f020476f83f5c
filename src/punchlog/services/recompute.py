"""Recomputing attendance: the engine run over the database.

Nothing on the ingest path writes here. Per tenant, a catch-up

1. reads the punches that arrived past the tenant's cursor (arrival order; none skipped, see
   ``storage.punches.lock_arrivals``) and marks the dates each can touch (local date ±1);
2. fills in days up to today (tenant time), so that absent days exist without any punch;
3. recomputes every marked (employee, date): each employee over the span of its marks.

It runs under a per-tenant lock: in the background (``RecomputeWorker``, try-lock, every few
seconds) and before every attendance read (blocking), so a read right after an ingest or a
change sees the new result.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import orjson
from sqlalchemy import Connection, RowMapping

from punchlog.domain.attendance import Employment, build_days, dates_touched, local_date
from punchlog.domain.days import Day, Punch, effective_direction
from punchlog.domain.shifts import Shift, parse_weekly_offs
from punchlog.domain.times import load_zone
from punchlog.services.store import Store, utcnow
from punchlog.storage import attendance as day_rows
from punchlog.storage import punches as punch_rows
from punchlog.storage import shifts as shift_rows
from punchlog.storage import tenants as tenant_rows
from punchlog.storage.locks import RECOMPUTE_LOCK

log = logging.getLogger("punchlog.recompute")
_PUNCH_PAGE = 20_000
_MARKS_PER_TRANSACTION = 50_000


@dataclass(frozen=True, slots=True)
class TenantCalendar:
    """What the engine needs to know about a tenant."""

    tenant_id: int
    zone: tzinfo
    bounce: timedelta
    backdate_days: int
    default_shift_id: int | None
    shifts: dict[int, Shift]
    holidays: frozenset[date]


def shift_from_row(row: RowMapping) -> Shift:
    def minutes(name: str) -> timedelta | None:
        value = row[name]
        return None if value is None else timedelta(minutes=value)

    return Shift(
        code=row["code"],
        start=time.fromisoformat(row["start_time"]),
        end=time.fromisoformat(row["end_time"]),
        checkin_before=timedelta(minutes=row["checkin_before_minutes"]),
        checkout_after=timedelta(minutes=row["checkout_after_minutes"]),
        late_grace=timedelta(minutes=row["late_grace_minutes"]),
        early_grace=timedelta(minutes=row["early_grace_minutes"]),
        half_day_below=minutes("half_day_below_minutes"),
        absent_below=minutes("absent_below_minutes"),
        hours_mode=row["hours_mode"],
        weekly_offs=parse_weekly_offs(row["weekly_offs"]),
    )


def load_calendar(conn: Connection, tenant_id: int) -> TenantCalendar:
    tenant = tenant_rows.get_tenant(conn, tenant_id=tenant_id)
    assert tenant is not None
    shifts = {r["id"]: shift_from_row(r) for r in shift_rows.list_shifts(conn, tenant_id=tenant_id)}
    holidays = frozenset(r["day"] for r in shift_rows.list_holidays(conn, tenant_id=tenant_id))
    return TenantCalendar(
        tenant_id=tenant_id,
        zone=load_zone(tenant["timezone"]),
        bounce=timedelta(seconds=tenant["bounce_seconds"]),
        backdate_days=tenant["backdate_days"],
        default_shift_id=tenant["default_shift_id"],
        shifts=shifts,
        holidays=holidays,
    )


def lock_tenant(conn: Connection, tenant_id: int, *, wait: bool) -> bool:
    """One recompute per tenant at a time (PostgreSQL; SQLite's writer lock already is)."""
    if conn.dialect.name != "postgresql":
        return True
    if wait:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", (RECOMPUTE_LOCK, tenant_id))
        return True
    got = conn.exec_driver_sql(
        "SELECT pg_try_advisory_xact_lock(%s, %s)", (RECOMPUTE_LOCK, tenant_id)
    ).scalar()
    return bool(got)


def today_in(calendar: TenantCalendar, now: datetime) -> date:
    return local_date(now, calendar.zone)


def shift_lookup(
    calendar: TenantCalendar, assignments: list[RowMapping]
) -> Callable[[date], Shift | None]:
    """The employee's shift on a date: the newest assignment covering it, else the default."""

    def shift_on(day: date) -> Shift | None:
        for a in assignments:  # newest first
            if a["from_date"] <= day and (a["to_date"] is None or day <= a["to_date"]):
                return calendar.shifts.get(a["shift_id"])
        if calendar.default_shift_id is not None:
            return calendar.shifts.get(calendar.default_shift_id)
        return None

    return shift_on


def _seconds(value: timedelta) -> int:
    return int(value.total_seconds())


def day_row(
    calendar: TenantCalendar, employee: RowMapping, day: Day, now: datetime
) -> tuple[Any, ...]:
    """A stored record, in ``attendance.DAY_COLUMNS`` order."""
    zone = calendar.zone
    punches = [
        {
            "id": c.punch.id,
            "time": c.punch.instant.astimezone(zone).isoformat(),
            "direction": c.punch.direction,
            "status": c.punch.status,
            "device": c.punch.device,
            "source": c.punch.source,
            "counted": c.counted,
            **({"reason": c.reason} if c.reason else {}),
        }
        for c in day.punches
    ]
    return (
        calendar.tenant_id,
        employee["id"],
        employee["number"],
        day.work_date,
        day.day_type,
        day.shift,
        day.first_in,
        day.last_out,
        _seconds(day.gross),
        _seconds(day.effective),
        _seconds(day.breaks),
        _seconds(day.late_by),
        _seconds(day.early_by),
        _seconds(day.overtime),
        day.status,
        day.window_end,
        orjson.dumps(punches).decode(),
        now,
    )


def _at_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time()).replace(tzinfo=zone)


def recompute_pairs(
    conn: Connection, calendar: TenantCalendar, pairs: Iterable[tuple[int, date]], now: datetime
) -> int:
    """Recompute the records of the marked pairs; each employee over its marks' span."""
    spans: dict[int, tuple[date, date]] = {}
    for employee_id, day in pairs:
        first, last = spans.get(employee_id, (day, day))
        spans[employee_id] = (min(first, day), max(last, day))
    if not spans:
        return 0
    employees = {
        r["id"]: r for r in day_rows.employees_for(conn, tenant_id=calendar.tenant_id, ids=spans)
    }
    assignments: dict[int, list[RowMapping]] = defaultdict(list)
    for a in shift_rows.list_assignments(
        conn, tenant_id=calendar.tenant_id, employee_ids=spans.keys()
    ):
        assignments[a["employee_id"]].append(a)
    first_day = min(f for f, _ in spans.values())
    last_day = max(last for _, last in spans.values())
    punches: dict[int, list[Punch]] = defaultdict(list)
    for r in day_rows.punches_of(
        conn,
        tenant_id=calendar.tenant_id,
        employees={e: employees[e]["number"] for e in spans if e in employees},
        first=_at_midnight(first_day - timedelta(days=2), calendar.zone),
        last=_at_midnight(last_day + timedelta(days=3), calendar.zone),
    ):
        punches[r["employee_id"]].append(
            Punch(
                id=r["id"],
                instant=r["punched_at"],
                direction=effective_direction(r["device_direction"] or "both", r["status"]),
                status=r["status"],
                device=r["device"],
                source=r["source"],
                excluded=bool(r["excluded"]),
            )
        )
    rows: list[tuple[Any, ...]] = []
    for employee_id, (first, last) in spans.items():
        employee = employees.get(employee_id)
        if employee is None:
            continue
        days = build_days(
            (first + timedelta(days=i) for i in range((last - first).days + 1)),
            punches.get(employee_id, []),
            shift_on=shift_lookup(calendar, assignments.get(employee_id, [])),
            zone=calendar.zone,
            holidays=calendar.holidays,
            employment=Employment(employee["joined_on"], employee["left_on"]),
            bounce=calendar.bounce,
        )
        rows.extend(day_row(calendar, employee, d, now) for d in days)
    day_rows.replace_days(
        conn,
        tenant_id=calendar.tenant_id,
        spans=[(e, f, last) for e, (f, last) in spans.items()],
        rows=rows,
    )
    return len(rows)


def _mark_new_punches(conn: Connection, calendar: TenantCalendar, state: RowMapping) -> None:
    """Marks for the punches that arrived since the cursor (in the caller's short transaction,
    which holds the tenant's arrivals lock exclusively: see ``punches.lock_arrivals``)."""
    cursor = int(state["punch_id"])
    while True:
        rows = day_rows.punches_after(
            conn, tenant_id=calendar.tenant_id, after_id=cursor, limit=_PUNCH_PAGE
        )
        if not rows:
            break
        pairs = {
            (r["employee_id"], d)
            for r in rows
            if r["employee_id"] is not None
            for d in dates_touched(r["punched_at"], calendar.zone)
        }
        day_rows.mark_dirty(conn, tenant_id=calendar.tenant_id, pairs=pairs)
        cursor = int(rows[-1]["id"])
        day_rows.set_state(conn, tenant_id=calendar.tenant_id, punch_id=cursor)


def _fill_days(
    conn: Connection, calendar: TenantCalendar, state: RowMapping, now: datetime
) -> None:
    """Mark every employee for the days since the last fill (absent days need no punch)."""
    today = today_in(calendar, now)
    start = state["filled_through"]
    start = (
        today - timedelta(days=calendar.backdate_days)
        if start is None
        else start + timedelta(days=1)
    )
    if start > today:
        return
    days = [start + timedelta(days=i) for i in range((today - start).days + 1)]
    day_rows.mark_all_employees(conn, tenant_id=calendar.tenant_id, days=days)
    day_rows.set_state(conn, tenant_id=calendar.tenant_id, filled_through=today)


def catch_up(
    store: Store, tenant_id: int, *, now: datetime | None = None, wait: bool = True
) -> int:
    """Bring the tenant's day records up to date; returns how many records were written
    (-1 when ``wait`` is false and another process holds the tenant's recompute)."""
    now = now or utcnow()
    with store.write() as conn:  # short: ingest of this tenant waits while it runs
        if not lock_tenant(conn, tenant_id, wait=wait):
            return -1
        punch_rows.lock_arrivals(conn, tenant_id=tenant_id, exclusive=True)
        calendar = load_calendar(conn, tenant_id)
        _mark_new_punches(conn, calendar, day_rows.get_state(conn, tenant_id=tenant_id))
        _fill_days(conn, calendar, day_rows.get_state(conn, tenant_id=tenant_id), now)
    written = 0
    while True:
        with store.write() as conn:
            if not lock_tenant(conn, tenant_id, wait=wait):
                return -1
            calendar = load_calendar(conn, tenant_id)
            pairs = day_rows.take_dirty(conn, tenant_id=tenant_id, limit=_MARKS_PER_TRANSACTION)
            written += recompute_pairs(conn, calendar, pairs, now)
        if len(pairs) < _MARKS_PER_TRANSACTION:
            return written


def mark(
    conn: Connection, tenant_id: int, employee_ids: Iterable[int], first: date, last: date
) -> None:
    """Mark each employee for every day of [first, last] (changes other than ingest)."""
    if last < first:
        return
    days = [first + timedelta(days=i) for i in range(min((last - first).days + 1, 400))]
    day_rows.mark_dirty(
        conn, tenant_id=tenant_id, pairs=[(e, d) for e in set(employee_ids) for d in days]
    )


class RecomputeWorker:
    """A daemon thread that catches every tenant up every ``interval`` seconds."""

    def __init__(self, store: Store, tenant_ids: Callable[[], list[int]], interval: float) -> None:
        self.store = store
        self.tenant_ids = tenant_ids
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recompute", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                for tenant_id in self.tenant_ids():
                    if self._stop.is_set():
                        return
                    catch_up(self.store, tenant_id, wait=False)
            except Exception:
                log.exception("background recompute failed; retrying next round")
