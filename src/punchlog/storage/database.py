"""Engines: SQLite (WAL, synchronous=FULL, busy_timeout, one writer) and PostgreSQL (psycopg 3).

SQLite: pysqlite's own transaction handling is switched off and every transaction is opened
here: ``BEGIN IMMEDIATE`` (take the write lock up front, so two writers never deadlock on a
lock upgrade) unless the connection carries the ``punchlog_readonly`` execution option, which
opens a plain deferred ``BEGIN`` that readers can run alongside the writer.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError

READONLY = "punchlog_readonly"


def build_engine(
    url: str,
    *,
    sqlite_synchronous: str = "FULL",
    sqlite_busy_timeout_ms: int = 10_000,
    pool_size: int = 10,
    pool_timeout_seconds: float = 10.0,
    statement_timeout_seconds: float = 30.0,
    ping_after_idle_seconds: float = 5.0,
) -> Engine:
    """An engine for ``url`` configured for punchlog's storage rules."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(
            parsed,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=pool_timeout_seconds,
            connect_args={"check_same_thread": False, "timeout": sqlite_busy_timeout_ms / 1000},
        )
        _configure_sqlite(engine, sqlite_synchronous, sqlite_busy_timeout_ms)
        return engine
    if backend == "postgresql":
        timeout_ms = max(1, int(statement_timeout_seconds * 1000))
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # Exactly pool_size connections per process, no overflow: a request beyond them waits
        # for one (up to pool_timeout, then 503). Overflow connections were opened and closed
        # again as load came and went, a server-side fork each time: a fixed pool gave 30-40 %
        # more single-log requests/s with two workers (bench/ingest.py loads), and the
        # operator can size max_connections as workers x pool_size.
        engine = create_engine(
            parsed,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=pool_timeout_seconds,
            connect_args={
                "connect_timeout": 10,
                "application_name": "punchlog",
                # A statement (or its wait for a lock) that outlives this fails, and the
                # request with it (503): nobody waits on a stuck server for ever. And a
                # COMMIT returns only once it is on disk, whatever the server's default
                # (synchronous_commit=off would let a crash take acknowledged logs).
                "options": (
                    f"-c statement_timeout={timeout_ms} -c lock_timeout={timeout_ms} "
                    "-c synchronous_commit=on"
                ),
                # A server that vanished without closing the connection is noticed.
                "keepalives": 1,
                "keepalives_idle": 10,
                "keepalives_interval": 5,
                "keepalives_count": 3,
            },
        )
        _ping_after_idle(engine, ping_after_idle_seconds)
        return engine
    raise ValueError(f"Unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")


def _ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only if it sat idle for ``idle_seconds``: a
    connection in steady use has just proved itself, and pinging on every checkout
    (``pool_pre_ping``) cost each request a round trip. A dead one is replaced before the
    request sees it, and with it every older connection of the pool. One that dies while in
    steady use fails its request (503, the client retries), and SQLAlchemy then drops every
    older connection of the pool too."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The server went away: every connection opened before now is as dead as this
            # one (recycled, as pool_pre_ping does); the pool retries with a fresh one.
            raise InvalidatePoolError("connection lost while idle") from exc


def _configure_sqlite(engine: Engine, synchronous: str, busy_timeout_ms: int) -> None:
    if synchronous not in {"FULL", "NORMAL", "EXTRA"}:
        raise ValueError(f"Unsupported sqlite synchronous mode {synchronous!r}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        readonly = conn.get_execution_options().get(READONLY, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
