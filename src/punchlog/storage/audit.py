"""Rows of ``audit_log``: who changed what, when (storage for services.audit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, RowMapping, insert, select

from punchlog.storage.tables import audit_log


def add_entry(
    conn: Connection,
    *,
    tenant_id: int,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    details: str,
) -> None:
    conn.execute(
        insert(audit_log).values(
            tenant_id=tenant_id,
            at=at,
            actor=actor[:128],
            action=action,
            target=target[:255],
            details=details,
        )
    )


def list_entries(conn: Connection, *, tenant_id: int, limit: int) -> Sequence[RowMapping]:
    """The newest ``limit`` entries of the tenant, newest first."""
    query = (
        select(audit_log)
        .where(audit_log.c.tenant_id == tenant_id)
        .order_by(audit_log.c.id.desc())
        .limit(limit)
    )
    return conn.execute(query).mappings().all()
