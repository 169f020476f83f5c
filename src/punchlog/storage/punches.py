"""Punch rows: the bulk, exactly-once insert of the hot path, and the held (unmatched) view."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select
from sqlalchemy.dialects import postgresql, sqlite

from punchlog.storage.tables import devices, punches

NATURAL_KEY = ("tenant_id", "punched_at", "employee_number", "device_id", "status")


def insert_punches(
    conn: Connection, *, rows: Sequence[dict[str, Any]]
) -> set[tuple[int, str, datetime, int]]:
    """Insert every row not already stored; return the natural keys (device, number, instant,
    status) of the rows this call inserted. Duplicates are skipped by the unique constraint.

    Rows are inserted in natural-key order, so that two transactions inserting overlapping
    batches take the unique index's locks in the same order and cannot deadlock.
    """
    if not rows:
        return set()
    ordered = sorted(
        rows, key=lambda r: (r["punched_at"], r["employee_number"], r["device_id"], r["status"])
    )
    stmt = insert_punch_statement(conn)
    stmt = stmt.on_conflict_do_nothing(
        index_elements=[punches.c[name] for name in NATURAL_KEY]
    ).returning(
        punches.c.device_id, punches.c.employee_number, punches.c.punched_at, punches.c.status
    )
    result = conn.execute(stmt, ordered)
    return {(r[0], r[1], r[2], r[3]) for r in result}


def insert_punch_statement(conn: Connection) -> Any:
    module: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(punches)


# Advisory-lock namespace for "punches arriving in this tenant" (PostgreSQL only).
_ARRIVALS_LOCK = 0x504C0003


def lock_arrivals(conn: Connection, *, tenant_id: int, exclusive: bool) -> None:
    """Make "every punch with id > cursor" a complete answer.

    Ids come from a sequence when a row is inserted, but transactions commit in any order, so
    a reader could see id 11 committed while id 10 is still in flight, move its cursor past
    10, and never see it. Every transaction that inserts punches takes this lock *shared*
    (writers never wait for each other); a reader of new punches takes it *exclusively* for
    its short transaction, so nothing is in flight while it reads: every id it has not seen
    is committed or gone. SQLite needs nothing: its one writer makes id order commit order.
    """
    if conn.dialect.name != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    conn.exec_driver_sql(f"SELECT {function}(%s, %s)", (_ARRIVALS_LOCK, tenant_id))


def list_unmatched(conn: Connection, *, tenant_id: int) -> Sequence[RowMapping]:
    """Held punches grouped by attendance number: count, first and last instant."""
    query = (
        select(
            punches.c.employee_number,
            func.count().label("count"),
            func.min(punches.c.punched_at).label("first_at"),
            func.max(punches.c.punched_at).label("last_at"),
        )
        .where(punches.c.tenant_id == tenant_id, punches.c.employee_id.is_(None))
        .group_by(punches.c.employee_number)
        .order_by(punches.c.employee_number)
    )
    return conn.execute(query).mappings().all()


def list_punches(
    conn: Connection, *, tenant_id: int, after_id: int = 0, limit: int = 1000
) -> Sequence[RowMapping]:
    """Punches in arrival order (id) after ``after_id``, with their device identifier. Call it
    under :func:`lock_arrivals` (exclusive) when the cursor must never skip."""
    query = (
        select(
            punches.c.id,
            punches.c.employee_number,
            devices.c.identifier.label("device_identifier"),
            punches.c.punched_at,
            punches.c.local_time,
            punches.c.status,
            punches.c.employee_id,
            punches.c.source,
            punches.c.received_at,
        )
        .outerjoin(devices, devices.c.id == punches.c.device_id)
        .where(punches.c.tenant_id == tenant_id, punches.c.id > after_id)
        .order_by(punches.c.id)
        .limit(limit)
    )
    return conn.execute(query).mappings().all()


def count_punches(conn: Connection, *, tenant_id: int) -> int:
    query = select(func.count()).select_from(punches).where(punches.c.tenant_id == tenant_id)
    return int(conn.execute(query).scalar_one())
