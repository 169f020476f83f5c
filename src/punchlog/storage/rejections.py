"""Rejected logs: kept with reason, raw item, key and time, bounded per tenant, replayable."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, select, update

from punchlog.storage.conflicts import insert_on_conflict
from punchlog.storage.tables import api_keys, rejected_logs


def upsert_rejections(conn: Connection, *, rows: Sequence[dict[str, Any]]) -> None:
    """Keep each rejected log once per (tenant, fingerprint): a resend of the same bad log
    bumps ``occurrences`` and refreshes time, key and request, and makes it pending again."""
    if not rows:
        return
    # One row per fingerprint in a statement (ON CONFLICT cannot touch a row twice).
    unique = list({row["fingerprint"]: row for row in rows}.values())
    stmt = insert_on_conflict(conn, rejected_logs)
    stmt = stmt.on_conflict_do_update(
        index_elements=[rejected_logs.c.tenant_id, rejected_logs.c.fingerprint],
        set_={
            "occurrences": rejected_logs.c.occurrences + 1,
            "received_at": stmt.excluded.received_at,
            "key_id": stmt.excluded.key_id,
            "request_id": stmt.excluded.request_id,
            "position": stmt.excluded.position,
            "message": stmt.excluded.message,
            "replayed_at": None,
            "replay_outcome": None,
        },
    )
    conn.execute(stmt, unique)


def prune_rejections(
    conn: Connection, *, tenant_id: int, older_than: datetime, keep_at_most: int
) -> int:
    """Drop rejected logs past retention, then the oldest beyond ``keep_at_most``."""
    removed = conn.execute(
        delete(rejected_logs).where(
            rejected_logs.c.tenant_id == tenant_id, rejected_logs.c.received_at < older_than
        )
    ).rowcount
    boundary = conn.execute(
        select(rejected_logs.c.id)
        .where(rejected_logs.c.tenant_id == tenant_id)
        .order_by(rejected_logs.c.id.desc())
        .offset(keep_at_most)
        .limit(1)
    ).scalar()
    if boundary is not None:
        removed += conn.execute(
            delete(rejected_logs).where(
                rejected_logs.c.tenant_id == tenant_id, rejected_logs.c.id <= boundary
            )
        ).rowcount
    return int(removed)


def list_rejections(
    conn: Connection,
    *,
    tenant_id: int,
    reason: str | None = None,
    pending_only: bool = False,
    limit: int | None = None,
) -> Sequence[RowMapping]:
    query = (
        select(
            rejected_logs.c.id,
            rejected_logs.c.request_id,
            rejected_logs.c.position,
            rejected_logs.c.reason,
            rejected_logs.c.message,
            rejected_logs.c.raw,
            rejected_logs.c.occurrences,
            rejected_logs.c.received_at,
            rejected_logs.c.replayed_at,
            rejected_logs.c.replay_outcome,
            api_keys.c.public_id.label("key_id"),
        )
        .outerjoin(api_keys, api_keys.c.id == rejected_logs.c.key_id)
        .where(rejected_logs.c.tenant_id == tenant_id)
        .order_by(rejected_logs.c.id)
    )
    if reason is not None:
        query = query.where(rejected_logs.c.reason == reason)
    if pending_only:
        query = query.where(rejected_logs.c.replayed_at.is_(None))
    if limit is not None:
        query = query.limit(limit)
    return conn.execute(query).mappings().all()


def record_replay(
    conn: Connection,
    *,
    tenant_id: int,
    rejection_id: int,
    now: datetime,
    outcome: str,
    reason: str | None = None,
    message: str | None = None,
) -> None:
    """What a replay made of a rejected log. Accepted: marked replayed (no longer pending).
    Rejected again (``reason`` given): stays pending with its new reason and message."""
    values: dict[str, Any] = {"replay_outcome": outcome}
    if reason is None:
        values["replayed_at"] = now
    else:
        values.update(reason=reason, message=message or "")
    conn.execute(
        update(rejected_logs)
        .where(rejected_logs.c.id == rejection_id, rejected_logs.c.tenant_id == tenant_id)
        .values(**values)
    )
