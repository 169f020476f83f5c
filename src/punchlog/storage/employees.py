"""Employee rows, and attaching held (unmatched) punches once a number is registered."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select, update

from punchlog.storage.conflicts import insert_on_conflict
from punchlog.storage.locks import REGISTRY_LOCK
from punchlog.storage.registry import bump
from punchlog.storage.tables import employees, punches

# SQLite's default limit of bound parameters is 32766; stay well under it.
_CHUNK = 500


def upsert_employees(
    conn: Connection, *, tenant_id: int, rows: Sequence[dict[str, Any]], now: datetime
) -> int:
    """Insert or update by (tenant, number); returns how many rows were written.

    Each row: ``number`` and ``name`` (required), ``joined_on``, ``left_on``, ``active``.
    """
    if not rows:
        return 0
    written = 0
    for start in range(0, len(rows), _CHUNK):
        chunk = [
            {
                "tenant_id": tenant_id,
                "number": row["number"],
                "name": row.get("name", ""),
                "joined_on": row.get("joined_on"),
                "left_on": row.get("left_on"),
                "active": row.get("active", True),
                "created_at": now,
                "updated_at": now,
            }
            for row in rows[start : start + _CHUNK]
        ]
        stmt = insert_on_conflict(conn, employees).values(chunk)
        stmt = stmt.on_conflict_do_update(
            index_elements=[employees.c.tenant_id, employees.c.number],
            set_={
                "name": stmt.excluded.name,
                "joined_on": stmt.excluded.joined_on,
                "left_on": stmt.excluded.left_on,
                "active": stmt.excluded.active,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        conn.execute(stmt)
        written += len(chunk)  # DO UPDATE writes every row (rowcount is -1 on some drivers)
    bump(conn, tenant_id=tenant_id)
    return written


def get_employee(conn: Connection, *, tenant_id: int, number: str) -> RowMapping | None:
    query = select(employees).where(
        employees.c.tenant_id == tenant_id, employees.c.number == number
    )
    return conn.execute(query).mappings().first()


def list_employees(conn: Connection, *, tenant_id: int) -> Sequence[RowMapping]:
    query = select(employees).where(employees.c.tenant_id == tenant_id).order_by(employees.c.number)
    return conn.execute(query).mappings().all()


def find_employees(
    conn: Connection, *, tenant_id: int, numbers: Collection[str]
) -> list[RowMapping]:
    """The employees among ``numbers``: what one ingest batch needs."""
    found: list[RowMapping] = []
    ordered = sorted(numbers)
    for start in range(0, len(ordered), _CHUNK):
        query = select(
            employees.c.id,
            employees.c.number,
            employees.c.active,
            employees.c.joined_on,
            employees.c.left_on,
        ).where(
            employees.c.tenant_id == tenant_id,
            employees.c.number.in_(ordered[start : start + _CHUNK]),
        )
        found.extend(conn.execute(query).mappings().all())
    return found


def deactivate_employee(
    conn: Connection, *, employee_id: int, left_on: date | None, now: datetime
) -> None:
    values: dict[str, Any] = {"active": False, "updated_at": now}
    if left_on is not None:
        values["left_on"] = left_on
    result = conn.execute(
        update(employees)
        .where(employees.c.id == employee_id)
        .values(**values)
        .returning(employees.c.tenant_id)
    )
    for (tenant_id,) in result.all():
        bump(conn, tenant_id=tenant_id)


def attach_unmatched(
    conn: Connection, *, tenant_id: int, numbers: Collection[str]
) -> list[tuple[int, datetime]]:
    """Give held punches whose number is now registered their employee; returns the
    (employee id, instant) of each punch attached."""
    attached: list[tuple[int, datetime]] = []
    ordered = sorted(numbers)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        employee_id = (
            select(employees.c.id)
            .where(
                employees.c.tenant_id == punches.c.tenant_id,
                employees.c.number == punches.c.employee_number,
            )
            .scalar_subquery()
        )
        result = conn.execute(
            update(punches)
            .where(
                punches.c.tenant_id == tenant_id,
                punches.c.employee_id.is_(None),
                punches.c.employee_number.in_(chunk),
            )
            .values(employee_id=employee_id)
            .returning(punches.c.employee_id, punches.c.punched_at)
        )
        attached.extend((int(r[0]), r[1]) for r in result)
    return attached


def lock_registry(conn: Connection, *, tenant_id: int, shared: bool) -> None:
    """Order employee registration against ingests that hold logs unmatched.

    Registration takes the lock exclusively, an ingest with unmatched logs takes it shared
    and then looks those numbers up again: either the ingest sees the new employee, or the
    registration's attach sees the ingest's committed punches. SQLite needs nothing: its one
    writer (BEGIN IMMEDIATE) already serialises both.
    """
    if conn.dialect.name != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    conn.exec_driver_sql(f"SELECT {function}(%s, %s)", (REGISTRY_LOCK, tenant_id))
