"""Shifts, assignments (employee → shift over a date range) and holidays."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, insert, select

from punchlog.storage.tables import employees, holidays, shift_assignments, shifts


def insert_shift(conn: Connection, *, tenant_id: int, values: dict[str, Any], now: datetime) -> int:
    result = conn.execute(
        insert(shifts).values(tenant_id=tenant_id, created_at=now, **values).returning(shifts.c.id)
    )
    return int(result.scalar_one())


def list_shifts(conn: Connection, *, tenant_id: int) -> Sequence[RowMapping]:
    query = select(shifts).where(shifts.c.tenant_id == tenant_id).order_by(shifts.c.code)
    return conn.execute(query).mappings().all()


def get_shift(conn: Connection, *, tenant_id: int, code: str) -> RowMapping | None:
    query = select(shifts).where(shifts.c.tenant_id == tenant_id, shifts.c.code == code)
    return conn.execute(query).mappings().first()


def insert_assignment(
    conn: Connection,
    *,
    tenant_id: int,
    employee_id: int,
    shift_id: int,
    from_date: date,
    to_date: date | None,
    now: datetime,
) -> None:
    conn.execute(
        insert(shift_assignments).values(
            tenant_id=tenant_id,
            employee_id=employee_id,
            shift_id=shift_id,
            from_date=from_date,
            to_date=to_date,
            created_at=now,
        )
    )


def list_assignments(
    conn: Connection, *, tenant_id: int, employee_ids: Collection[int] | None = None
) -> Sequence[RowMapping]:
    """Assignments (newest first per employee): a later assignment wins where ranges overlap."""
    query = (
        select(
            shift_assignments.c.employee_id,
            shift_assignments.c.shift_id,
            shift_assignments.c.from_date,
            shift_assignments.c.to_date,
            employees.c.number.label("employee_number"),
        )
        .join(employees, employees.c.id == shift_assignments.c.employee_id)
        .where(shift_assignments.c.tenant_id == tenant_id)
        .order_by(shift_assignments.c.employee_id, shift_assignments.c.id.desc())
    )
    if employee_ids is not None:
        query = query.where(shift_assignments.c.employee_id.in_(sorted(employee_ids)))
    return conn.execute(query).mappings().all()


def upsert_holiday(conn: Connection, *, tenant_id: int, day: date, name: str) -> None:
    conn.execute(delete(holidays).where(holidays.c.tenant_id == tenant_id, holidays.c.day == day))
    conn.execute(insert(holidays).values(tenant_id=tenant_id, day=day, name=name))


def list_holidays(
    conn: Connection, *, tenant_id: int, first: date | None = None, last: date | None = None
) -> Sequence[RowMapping]:
    query = select(holidays.c.day, holidays.c.name).where(holidays.c.tenant_id == tenant_id)
    if first is not None:
        query = query.where(holidays.c.day >= first)
    if last is not None:
        query = query.where(holidays.c.day <= last)
    return conn.execute(query.order_by(holidays.c.day)).mappings().all()
