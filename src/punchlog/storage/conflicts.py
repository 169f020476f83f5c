"""``INSERT … ON CONFLICT`` for the connection's database (SQLite and PostgreSQL both have it,
each through its own SQLAlchemy dialect)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_on_conflict(conn: Connection, table: Table) -> Any:
    """An INSERT into ``table`` that takes ``on_conflict_do_nothing/do_update``."""
    module: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table)
