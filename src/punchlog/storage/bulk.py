"""Bulk writes straight to the driver, for paths that write tens of thousands of rows (the
attendance recompute): one compiled SQL string and plain tuples, no per-row SQLAlchemy work.

Values are converted the way SQLAlchemy stores them, so rows written here read back the same
through the tables' types: on SQLite an instant is naive-UTC text with microseconds (the
format SQLAlchemy's DateTime writes), a date is ISO text, a bool is 0/1; PostgreSQL takes
aware datetimes, dates and bools as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Table

_SQLITE_DATETIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"
_BATCH = 10_000


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"an instant needs a zone, got {value!r}")
        v = value.astimezone(UTC)
        return _SQLITE_DATETIME % (
            v.year,
            v.month,
            v.day,
            v.hour,
            v.minute,
            v.second,
            v.microsecond,
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _placeholders(conn: Connection, count: int) -> str:
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    return ", ".join([mark] * count)


def _tuples(conn: Connection, rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    if conn.dialect.name == "sqlite":
        return [tuple(_sqlite_value(v) for v in row) for row in rows]
    return [tuple(row) for row in rows]


def insert_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order), skipping conflicting rows if asked."""
    if not rows:
        return
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({_placeholders(conn, len(columns))})"
    )
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    for start in range(0, len(rows), _BATCH):
        conn.exec_driver_sql(sql, _tuples(conn, rows[start : start + _BATCH]))


def delete_rows(
    conn: Connection, table: Table, columns: Sequence[str], keys: Sequence[Sequence[Any]]
) -> None:
    """DELETE the rows whose ``columns`` equal each key tuple."""
    if not keys:
        return
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    where = " AND ".join(f"{c} = {mark}" for c in columns)
    sql = f"DELETE FROM {table.name} WHERE {where}"
    for start in range(0, len(keys), _BATCH):
        conn.exec_driver_sql(sql, _tuples(conn, keys[start : start + _BATCH]))
