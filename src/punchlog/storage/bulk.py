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
    """INSERT ``rows`` (tuples in ``columns`` order), skipping conflicting rows if asked.

    SQLite: ``executemany`` (in-process, no round trips). PostgreSQL: ``COPY`` (the fastest
    way in), or, where conflicts must be skipped, one statement per batch,
    ``INSERT ... SELECT * FROM unnest(<one typed array per column>) ON CONFLICT DO NOTHING``.
    """
    if not rows:
        return
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    head = f"INSERT INTO {table.name} ({', '.join(columns)}) "
    if conn.dialect.name == "sqlite":
        sql = f"{head}VALUES ({_placeholders(conn, len(columns))}){conflict}"
        for start in range(0, len(rows), _BATCH):
            conn.exec_driver_sql(sql, _tuples(conn, rows[start : start + _BATCH]))
        return
    if not ignore_conflicts:
        raw = conn.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    arrays = ", ".join(
        f"%s::{table.c[name].type.compile(dialect=conn.dialect)}[]" for name in columns
    )
    sql = f"{head}SELECT * FROM unnest({arrays}){conflict}"
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        conn.exec_driver_sql(sql, tuple(list(column) for column in zip(*batch, strict=True)))
