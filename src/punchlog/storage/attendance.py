"""Derived attendance: day records, recompute marks, and how far the recompute has read."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    RowMapping,
    and_,
    delete,
    func,
    literal,
    select,
    tuple_,
    update,
)

from punchlog.storage.bulk import insert_rows
from punchlog.storage.conflicts import insert_on_conflict
from punchlog.storage.tables import (
    attendance_days,
    attendance_dirty,
    attendance_state,
    corrections,
    devices,
    employees,
    punches,
)


def get_state(conn: Connection, *, tenant_id: int) -> RowMapping:
    """The tenant's recompute state, created on first use."""
    stmt = insert_on_conflict(conn, attendance_state).values(tenant_id=tenant_id)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[attendance_state.c.tenant_id]))
    query = select(attendance_state).where(attendance_state.c.tenant_id == tenant_id)
    return conn.execute(query).mappings().one()


def set_state(conn: Connection, *, tenant_id: int, **values: Any) -> None:
    conn.execute(
        update(attendance_state).where(attendance_state.c.tenant_id == tenant_id).values(**values)
    )


def punches_after(
    conn: Connection, *, tenant_id: int, after_id: int, limit: int
) -> Sequence[RowMapping]:
    """New punches (arrival order) past the recompute cursor: which days they touch. Call it
    under ``punches.lock_arrivals`` (exclusive)."""
    query = (
        select(punches.c.id, punches.c.employee_id, punches.c.punched_at)
        .where(punches.c.tenant_id == tenant_id, punches.c.id > after_id)
        .order_by(punches.c.id)
        .limit(limit)
    )
    return conn.execute(query).mappings().all()


def mark_dirty(conn: Connection, *, tenant_id: int, pairs: Collection[tuple[int, date]]) -> None:
    rows = [(tenant_id, e, d) for e, d in sorted(pairs)]
    insert_rows(conn, attendance_dirty, _DIRTY_COLUMNS, rows, ignore_conflicts=True)


def mark_all_employees(conn: Connection, *, tenant_id: int, days: Collection[date]) -> None:
    """Mark every employee of the tenant for each of ``days`` (one INSERT ... SELECT a day)."""
    for day in sorted(days):
        source = select(
            literal(tenant_id).label("tenant_id"),
            employees.c.id,
            literal(day, Date).label("work_date"),
        ).where(employees.c.tenant_id == tenant_id)
        stmt = insert_on_conflict(conn, attendance_dirty).from_select(_DIRTY_COLUMNS, source)
        conn.execute(stmt.on_conflict_do_nothing())


_DIRTY_COLUMNS = ("tenant_id", "employee_id", "work_date")


def take_dirty(conn: Connection, *, tenant_id: int, limit: int) -> list[tuple[int, date]]:
    """Remove and return up to ``limit`` marks, in one statement: exactly the marks it
    returns are gone (one added meanwhile stays). The caller recomputes them in the same
    transaction, so a failed recompute puts them back."""
    taken = (
        select(
            attendance_dirty.c.tenant_id,
            attendance_dirty.c.employee_id,
            attendance_dirty.c.work_date,
        )
        .where(attendance_dirty.c.tenant_id == tenant_id)
        .order_by(attendance_dirty.c.employee_id, attendance_dirty.c.work_date)
        .limit(limit)
    )
    stmt = (
        delete(attendance_dirty)
        .where(
            tuple_(
                attendance_dirty.c.tenant_id,
                attendance_dirty.c.employee_id,
                attendance_dirty.c.work_date,
            ).in_(taken)
        )
        .returning(attendance_dirty.c.employee_id, attendance_dirty.c.work_date)
    )
    return [(int(r[0]), r[1]) for r in conn.execute(stmt)]


def employees_for(
    conn: Connection, *, tenant_id: int, ids: Collection[int] | None = None
) -> Sequence[RowMapping]:
    query = select(
        employees.c.id,
        employees.c.number,
        employees.c.joined_on,
        employees.c.left_on,
        employees.c.active,
    ).where(employees.c.tenant_id == tenant_id)
    if ids is not None:
        query = query.where(employees.c.id.in_(sorted(ids)))
    return conn.execute(query.order_by(employees.c.id)).mappings().all()


def punches_of(
    conn: Connection,
    *,
    tenant_id: int,
    employees: Mapping[int, str],
    first: datetime,
    last: datetime,
) -> Sequence[RowMapping]:
    """Every punch of these employees (id: number) in [first, last), with device direction
    and identifier and whether a correction excludes it, ordered by employee and instant."""
    excluded = (
        select(corrections.c.id)
        .where(corrections.c.punch_id == punches.c.id, corrections.c.kind == "exclude")
        .exists()
    )
    query = (
        select(
            punches.c.id,
            punches.c.employee_id,
            punches.c.punched_at,
            punches.c.status,
            punches.c.source,
            devices.c.identifier.label("device"),
            devices.c.direction.label("device_direction"),
            excluded.label("excluded"),
        )
        .outerjoin(devices, devices.c.id == punches.c.device_id)
        .where(
            punches.c.tenant_id == tenant_id,
            punches.c.punched_at >= first,
            punches.c.punched_at < last,
            # The number is in the natural key's index, which this time range walks: rows of
            # other employees are passed over without reading the table.
            punches.c.employee_number.in_(sorted(employees.values())),
            punches.c.employee_id.in_(sorted(employees)),
        )
        .order_by(punches.c.employee_id, punches.c.punched_at, punches.c.id)
    )
    return conn.execute(query).mappings().all()


DAY_COLUMNS = (
    "tenant_id",
    "employee_id",
    "employee_number",
    "work_date",
    "day_type",
    "shift_code",
    "first_in",
    "last_out",
    "gross_seconds",
    "effective_seconds",
    "break_seconds",
    "late_seconds",
    "early_seconds",
    "overtime_seconds",
    "status",
    "window_end",
    "punches",
    "computed_at",
)


def replace_days(
    conn: Connection,
    *,
    tenant_id: int,
    spans: Sequence[tuple[int, date, date]],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Drop the records of each (employee, first, last) span, then insert ``rows`` (tuples in
    :data:`DAY_COLUMNS` order)."""
    by_span: dict[tuple[date, date], list[int]] = {}
    for employee_id, first, last in spans:  # a full catch-up: one span for everybody
        by_span.setdefault((first, last), []).append(employee_id)
    for (first, last), ids in by_span.items():
        for start in range(0, len(ids), 1000):
            conn.execute(
                delete(attendance_days).where(
                    attendance_days.c.tenant_id == tenant_id,
                    attendance_days.c.employee_id.in_(ids[start : start + 1000]),
                    attendance_days.c.work_date >= first,
                    attendance_days.c.work_date <= last,
                )
            )
    insert_rows(conn, attendance_days, DAY_COLUMNS, rows)


def day_filter(*, tenant_id: int, first: date, last: date, employee_number: str | None) -> Any:
    condition = and_(
        attendance_days.c.tenant_id == tenant_id,
        attendance_days.c.work_date >= first,
        attendance_days.c.work_date <= last,
    )
    if employee_number is not None:
        condition = and_(condition, attendance_days.c.employee_number == employee_number)
    return condition


def count_days(conn: Connection, **where: Any) -> int:
    query = select(func.count()).select_from(attendance_days).where(day_filter(**where))
    return int(conn.execute(query).scalar_one())


def list_days(
    conn: Connection, *, offset: int = 0, limit: int | None = None, **where: Any
) -> Sequence[RowMapping]:
    query = (
        select(attendance_days)
        .where(day_filter(**where))
        .order_by(attendance_days.c.employee_number, attendance_days.c.work_date)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return conn.execute(query).mappings().all()
