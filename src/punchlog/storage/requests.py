"""One row per accepted ingest request: who sent it, when, and what came of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, update

from punchlog.storage.tables import ingest_requests


def open_request(
    conn: Connection,
    *,
    tenant_id: int,
    key_id: int | None,
    request_id: str,
    received: int,
    now: datetime,
) -> int:
    result = conn.execute(
        insert(ingest_requests)
        .values(
            tenant_id=tenant_id,
            key_id=key_id,
            request_id=request_id,
            received_at=now,
            logs_received=received,
            logs_accepted=0,
            logs_duplicate=0,
            logs_unmatched=0,
            logs_rejected=0,
        )
        .returning(ingest_requests.c.id)
    )
    return int(result.scalar_one())


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
