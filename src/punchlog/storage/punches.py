"""Punch rows: the bulk, exactly-once insert of the hot path, and the held (unmatched) view."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, RowMapping, func, select
from sqlalchemy.dialects import postgresql

from punchlog.storage import requests as request_rows
from punchlog.storage.bulk import (
    JSON_ROWS,
    insert_rows,
    json_values,
    memoized,
    sqlite_insert_flat,
    sqlite_value,
    utc,
)
from punchlog.storage.driver import cursor
from punchlog.storage.locks import ARRIVALS_LOCK
from punchlog.storage.tables import devices, punches

PUNCH_COLUMNS = (
    "tenant_id",
    "punched_at",
    "employee_number",
    "device_id",
    "status",
    "local_time",
    "employee_id",
    "source",
    "request_id",
    "received_at",
)


# What varies from punch to punch within one request; the rest (tenant, source, request,
# received-at) is the same for all of them.
VARYING_COLUMNS = (
    "punched_at",
    "employee_number",
    "device_id",
    "status",
    "local_time",
    "employee_id",
)


@dataclass(frozen=True, slots=True)
class PreparedPunches:
    """One request's punch rows made ready for the driver before its transaction, so that
    the writer only stores them: ``values`` is one flat list, row after row in
    :data:`VARYING_COLUMNS` order, datetimes as :func:`driver_datetime` makes them."""

    dialect: str
    count: int
    values: list[Any]
    tenant_id: int
    source: str
    received_at: Any  # as driver_datetime makes it


def driver_datetime(dialect: str) -> Callable[[datetime], Any]:
    """How a punch's datetimes go to the driver: integer microseconds on SQLite
    (storage.types; each distinct one converted once), in UTC on PostgreSQL."""
    if dialect == "sqlite":
        return memoized(sqlite_value)
    return utc  # in UTC, as the JSON rows of insert_with_request need them


def insert_with_request(
    conn: Connection, prepared: PreparedPunches, request: tuple[Any, ...]
) -> tuple[int, int]:
    """Insert the request's row (``request``: storage.requests.open_values) and every prepared
    punch not already stored, each stamped with that row; return the row's id and how many
    punches were inserted (duplicates are skipped by the natural key's unique constraint).

    SQLite: the request row, then multi-row statements binding the shared columns once
    (storage.bulk). PostgreSQL: one statement, one round trip (the request row in a CTE; the
    punches' foreign key is checked at the end of the statement, when that row exists), the
    punches as one JSON array (storage.bulk.JSON_ROWS) in natural-key order, so two
    transactions inserting overlapping batches take the unique index's locks in the same
    order and cannot deadlock (SQLite has one writer: no order is needed)."""
    if prepared.dialect != conn.dialect.name:
        raise ValueError(f"rows prepared for {prepared.dialect}, not {conn.dialect.name}")
    if prepared.dialect == "sqlite":
        request_row = request_rows.insert_request(conn, request)
        if prepared.count == 0:
            return request_row, 0
        shared = (
            ("tenant_id", prepared.tenant_id),
            ("source", prepared.source),
            ("request_id", request_row),
            ("received_at", prepared.received_at),
        )
        inserted = sqlite_insert_flat(
            conn,
            punches.name,
            VARYING_COLUMNS,
            prepared.values,
            ignore_conflicts=True,
            shared=shared,
        )
        return request_row, inserted
    width = len(VARYING_COLUMNS)
    v = prepared.values
    rows = [v[i : i + width] for i in range(0, len(v), width)]
    if len(rows) > 1:
        rows.sort(key=_varying_natural_order)
    cur = cursor(conn)
    cur.execute(
        _with_request_sql(),
        (
            *request,
            prepared.tenant_id,
            prepared.source,
            prepared.received_at,
            orjson.dumps(rows).decode(),  # datetimes already in UTC (driver_datetime)
        ),
    )
    request_row, inserted = cur.fetchone()
    return int(request_row), int(inserted)


def _varying_natural_order(row: Sequence[Any]) -> tuple[Any, ...]:
    return (row[0], row[1], row[2], row[3])  # punched_at, number, device, status


@cache
def _with_request_sql() -> str:
    shared = "tenant_id, source, request_id, received_at"
    values = json_values(punches, VARYING_COLUMNS, postgresql.dialect())  # type: ignore[no-untyped-call]
    return (
        f"WITH r AS ({request_rows.OPEN_POSTGRESQL}), "
        f"p AS (INSERT INTO punches ({shared}, {', '.join(VARYING_COLUMNS)}) "
        f"SELECT %s::integer, %s::text, r.id, %s::timestamptz, {values} "
        f"FROM r, {JSON_ROWS} ORDER BY e.n ON CONFLICT DO NOTHING RETURNING 1) "
        "SELECT r.id, (SELECT count(*) FROM p) FROM r"
    )


def insert_punches(conn: Connection, *, rows: Sequence[Sequence[Any]]) -> int:
    """Insert every row (tuples in :data:`PUNCH_COLUMNS` order) not already stored; return how
    many were inserted. Duplicates are skipped by the natural key's unique constraint. Rows
    go in natural-key order (see :func:`insert_with_request`)."""
    ordered = sorted(rows, key=_natural_order) if len(rows) > 1 else rows
    if conn.dialect.name == "sqlite":  # the three datetimes as stored, each distinct one once
        micros = memoized(sqlite_value)
        ordered = [
            (r[0], micros(r[1]), r[2], r[3], r[4], micros(r[5]), r[6], r[7], r[8], micros(r[9]))
            for r in ordered
        ]
        return insert_rows(
            conn, punches, PUNCH_COLUMNS, ordered, ignore_conflicts=True, driver_ready=True
        )
    return insert_rows(conn, punches, PUNCH_COLUMNS, ordered, ignore_conflicts=True)


def _natural_order(row: Sequence[Any]) -> tuple[Any, ...]:
    return (row[1], row[2], row[3], row[4])


def keys_inserted_by(
    conn: Connection, *, tenant_id: int, request_row: int, instants: Collection[datetime]
) -> set[tuple[int, str, datetime, int]]:
    """The natural keys (device, number, instant, status) that ``request_row`` inserted among
    punches at ``instants`` (found through the natural key's index)."""
    found: set[tuple[int, str, datetime, int]] = set()
    ordered = sorted(set(instants))
    for start in range(0, len(ordered), 500):
        query = select(
            punches.c.device_id,
            punches.c.employee_number,
            punches.c.punched_at,
            punches.c.status,
        ).where(
            punches.c.tenant_id == tenant_id,
            punches.c.punched_at.in_(ordered[start : start + 500]),
            punches.c.request_id == request_row,
        )
        found.update((r[0], r[1], r[2], r[3]) for r in conn.execute(query))
    return found


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
    cursor(conn).execute(f"SELECT {function}(%s, %s)", (ARRIVALS_LOCK, tenant_id))


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
