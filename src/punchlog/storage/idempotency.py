"""Rows of ``idempotency_keys``: claim a key for a request, record its answer, release it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, RowMapping, delete, select, update

from punchlog.storage.conflicts import insert_on_conflict
from punchlog.storage.tables import idempotency_keys as table


def try_claim(
    conn: Connection, *, key_id: int, idempotency_key: str, fingerprint: str, now: datetime
) -> int | None:
    """A new pending row for this key, or ``None`` when the key has a row already."""
    stmt = (
        insert_on_conflict(conn, table)
        .values(
            key_id=key_id,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            state="pending",
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    row = conn.execute(stmt).first()
    return None if row is None else int(row[0])


def find(conn: Connection, *, key_id: int, idempotency_key: str) -> RowMapping | None:
    query = select(table).where(
        table.c.key_id == key_id, table.c.idempotency_key == idempotency_key
    )
    return conn.execute(query).mappings().first()


def take_over(
    conn: Connection, *, row_id: int, fingerprint: str, now: datetime, stale_before: datetime
) -> bool:
    """Reuse an expired or abandoned row for a new request (only if still so)."""
    result = conn.execute(
        update(table)
        .where(table.c.id == row_id, table.c.created_at < stale_before)
        .values(
            fingerprint=fingerprint,
            state="pending",
            status_code=None,
            response=None,
            created_at=now,
        )
    )
    return result.rowcount == 1


def finish(conn: Connection, *, row_id: int, status_code: int, response: str) -> None:
    conn.execute(
        update(table)
        .where(table.c.id == row_id)
        .values(state="done", status_code=status_code, response=response)
    )


def release(conn: Connection, *, row_id: int) -> None:
    conn.execute(delete(table).where(table.c.id == row_id, table.c.state == "pending"))


def purge(conn: Connection, *, key_id: int, older_than: datetime) -> None:
    conn.execute(delete(table).where(table.c.key_id == key_id, table.c.created_at < older_than))
