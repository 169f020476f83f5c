"""One row per accepted ingest request: who sent it, when, and what came of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, update

from punchlog.storage.bulk import driver_value
from punchlog.storage.driver import cursor
from punchlog.storage.tables import ingest_requests

_OPEN_SQL = (
    "INSERT INTO ingest_requests (tenant_id, key_id, request_id, received_at, logs_received,"
    " logs_accepted, logs_duplicate, logs_unmatched, logs_rejected)"
    " VALUES ({0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0})"
)
# SQLite hands back the new rowid (lastrowid) without RETURNING's extra work.
_OPEN = {"sqlite": _OPEN_SQL.format("?"), "postgresql": _OPEN_SQL.format("%s") + " RETURNING id"}
OPEN_POSTGRESQL = _OPEN["postgresql"]


def open_values(
    conn: Connection,
    *,
    tenant_id: int,
    key_id: int | None,
    request_id: str,
    received: int,
    now: datetime,
    accepted: int = 0,
    duplicate: int = 0,
    unmatched: int = 0,
    rejected: int = 0,
) -> tuple[Any, ...]:
    """The request row's values as the driver takes them, for :func:`insert_request` (or a
    statement that inserts it along with its punches, storage.punches)."""
    return (
        tenant_id,
        key_id,
        request_id,
        driver_value(conn, now),
        received,
        accepted,
        duplicate,
        unmatched,
        rejected,
    )


def insert_request(conn: Connection, values: tuple[Any, ...]) -> int:
    """Insert the request's row (:func:`open_values`); returns its id. Driver SQL
    (storage.driver): once per ingest request."""
    cur = cursor(conn)
    cur.execute(_OPEN[conn.dialect.name], values)
    if conn.dialect.name == "sqlite":
        return int(cur.lastrowid)
    return int(cur.fetchone()[0])


def close_request(
    conn: Connection, *, row_id: int, accepted: int, duplicate: int, unmatched: int, rejected: int
) -> None:
    conn.execute(
        update(ingest_requests)
        .where(ingest_requests.c.id == row_id)
        .values(
            logs_accepted=accepted,
            logs_duplicate=duplicate,
            logs_unmatched=unmatched,
            logs_rejected=rejected,
        )
    )
