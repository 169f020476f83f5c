"""The driver's own cursor, for the few statements the ingest hot path runs per request.

Through SQLAlchemy each statement costs several times what the database takes to run it (a
result object, events, metadata); on the hot path the driver is called directly, inside the
transaction SQLAlchemy opened. Driver errors are not wrapped by SQLAlchemy there, so the
Store maps :data:`DRIVER_ERRORS` the way it maps SQLAlchemy's.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
from sqlalchemy import Connection

DRIVER_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
DRIVER_DATA_ERRORS: tuple[type[Exception], ...] = (sqlite3.DataError, psycopg.DataError)
DRIVER_INTEGRITY_ERRORS: tuple[type[Exception], ...] = (
    sqlite3.IntegrityError,
    psycopg.IntegrityError,
)


def cursor(conn: Connection) -> Any:
    """A new driver cursor on ``conn``'s connection (its transaction, its savepoints)."""
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
