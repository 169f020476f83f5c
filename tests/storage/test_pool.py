"""PostgreSQL connection pool: a fixed number of connections per process, and a ping only for
a connection that sat idle (storage.database). These are PostgreSQL-only behaviours; SQLite
has no server to connect to."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from punchlog.errors import StorageUnavailable
from punchlog.services.store import Store
from punchlog.storage.database import build_engine


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    admin = build_engine(url)
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    finally:
        admin.dispose()


def test_a_process_opens_exactly_pool_size_connections_and_then_waits(postgres_url: str) -> None:
    engine = build_engine(postgres_url, pool_size=2, pool_timeout_seconds=0.3)
    try:
        first, second = engine.connect(), engine.connect()
        pids = {
            int(c.execute(text("SELECT pg_backend_pid()")).scalar_one()) for c in (first, second)
        }
        assert len(pids) == 2
        with pytest.raises(PoolTimeout):  # no third connection: the request waits, then fails
            engine.connect()
        first.close()
        with engine.connect() as third:  # a connection freed is reused, not a new one
            assert int(third.execute(text("SELECT pg_backend_pid()")).scalar_one()) in pids
        second.close()
    finally:
        engine.dispose()


def test_an_exhausted_pool_is_a_503_for_the_request(postgres_url: str) -> None:
    store = Store(build_engine(postgres_url, pool_size=1, pool_timeout_seconds=0.3))
    try:
        with store.read(), pytest.raises(StorageUnavailable), store.read():
            pass
        with store.read() as conn:  # and the service goes on once the connection is back
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        store.dispose()


def test_a_connection_that_died_while_idle_is_replaced_before_use(postgres_url: str) -> None:
    engine = build_engine(postgres_url, pool_size=1, ping_after_idle_seconds=0)
    try:
        dead = _backend_pid(engine)
        _terminate(postgres_url, dead)
        with engine.connect() as conn:  # the ping found it dead: a fresh one, no error
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != dead
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(postgres_url: str) -> None:
    """No round trip before each request: a connection that died a moment after its last use
    fails the next request (a 503 to the client, who retries), and the pool then recovers."""
    engine = build_engine(postgres_url, pool_size=1, ping_after_idle_seconds=60)
    try:
        dead = _backend_pid(engine)
        _terminate(postgres_url, dead)
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert _backend_pid(engine) != dead
    finally:
        engine.dispose()


def test_a_failed_ping_recycles_every_older_connection(postgres_url: str) -> None:
    """After a server restart every pooled connection is dead: the first ping that fails
    drops them all (as pool_pre_ping does), so a connection used a moment ago, which is not
    pinged, is not handed out dead either."""
    engine = build_engine(postgres_url, pool_size=2, ping_after_idle_seconds=0.5)
    try:
        first, second = engine.connect(), engine.connect()
        pids = [
            int(c.execute(text("SELECT pg_backend_pid()")).scalar_one()) for c in (first, second)
        ]
        first.close()  # idle long enough to be pinged when next checked out (FIFO pool)
        time.sleep(0.6)
        second.close()  # used a moment ago: not pinged
        for pid in pids:
            _terminate(postgres_url, pid)
        with engine.connect() as one, engine.connect() as two:
            fresh = {
                int(c.execute(text("SELECT pg_backend_pid()")).scalar_one()) for c in (one, two)
            }
        assert fresh.isdisjoint(pids)
    finally:
        engine.dispose()
