"""The readiness probe's query."""

from __future__ import annotations

from sqlalchemy import Connection, select

from punchlog.storage.tables import tenants


def ping(conn: Connection) -> None:
    """Touch the schema: fails when the database is down or not migrated."""
    conn.execute(select(tenants.c.id).limit(1)).all()
