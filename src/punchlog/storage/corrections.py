"""Corrections: manual punches and exclusions, each its own record with who, when and why.
Raw logs are never changed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select

from punchlog.storage.conflicts import insert_on_conflict
from punchlog.storage.tables import corrections, employees, punches


def insert_manual_punch(
    conn: Connection,
    *,
    tenant_id: int,
    employee_id: int,
    employee_number: str,
    instant: datetime,
    local_time: datetime,
    status: int,
    now: datetime,
) -> int:
    stmt = insert_on_conflict(conn, punches).values(
        tenant_id=tenant_id,
        punched_at=instant,
        employee_number=employee_number,
        device_id=None,
        status=status,
        local_time=local_time,
        employee_id=employee_id,
        source="manual",
        received_at=now,
    )
    return int(conn.execute(stmt.returning(punches.c.id)).scalar_one())


def get_punch(conn: Connection, *, tenant_id: int, punch_id: int) -> RowMapping | None:
    query = select(punches).where(punches.c.tenant_id == tenant_id, punches.c.id == punch_id)
    return conn.execute(query).mappings().first()


def insert_correction(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(corrections).values(**values).returning(corrections.c.id))
    return int(result.scalar_one())


def list_corrections(conn: Connection, *, tenant_id: int) -> Sequence[RowMapping]:
    query = (
        select(
            corrections.c.id,
            corrections.c.kind,
            corrections.c.punch_id,
            corrections.c.reason,
            corrections.c.actor,
            corrections.c.created_at,
            employees.c.number.label("employee_number"),
            punches.c.punched_at,
            punches.c.status,
        )
        .join(employees, employees.c.id == corrections.c.employee_id)
        .join(punches, punches.c.id == corrections.c.punch_id)
        .where(corrections.c.tenant_id == tenant_id)
        .order_by(corrections.c.id)
    )
    return conn.execute(query).mappings().all()
