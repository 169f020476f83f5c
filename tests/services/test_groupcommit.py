"""Group commit (SQLite): many requests per transaction and fsync, each answered only after
the commit; a failing request alone is rolled back; a failed commit fails every request in it.
On PostgreSQL there is no group committer: each request commits on its own connection."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, event, func, insert, select

from punchlog.errors import StorageUnavailable
from punchlog.services.store import Store
from punchlog.storage.tables import tenants

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _add_tenant(slug: str) -> object:
    def work(conn: Connection) -> str:
        conn.execute(insert(tenants).values(slug=slug, name=slug, timezone="UTC", created_at=NOW))
        return slug

    return work


def _count(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(tenants)).scalar_one())


def _hold_the_writer(store: Store) -> tuple[threading.Event, threading.Event, object]:
    """Submit a first request that blocks inside the writer until released."""
    started, release = threading.Event(), threading.Event()

    def slow(conn: Connection) -> str:
        started.set()
        release.wait(10)
        conn.execute(insert(tenants).values(slug="first", name="f", timezone="UTC", created_at=NOW))
        return "first"

    assert store.committer is not None
    future = store.committer.submit(slow)
    assert started.wait(10)
    return started, release, future


def test_concurrent_requests_share_one_commit(store: Store) -> None:
    if store.committer is None:
        assert not store.is_sqlite  # PostgreSQL: plain transactions, many writers
        assert store.write_with_retry(_add_tenant("solo")) == "solo"  # type: ignore[arg-type]
        assert _count(store) == 1
        return
    _, release, first = _hold_the_writer(store)
    queued = [store.committer.submit(_add_tenant(f"t{i}")) for i in range(10)]  # type: ignore[arg-type]
    assert not any(f.done() for f in queued)  # nobody is answered before the commit
    before = store.committer.commits
    release.set()
    assert first.result(10) == "first"  # type: ignore[attr-defined]
    assert [f.result(10) for f in queued] == [f"t{i}" for i in range(10)]
    assert store.committer.commits - before == 2  # the first alone, then the ten together
    assert _count(store) == 11


def test_a_failing_request_is_rolled_back_alone(store: Store) -> None:
    if store.committer is None:
        assert not store.is_sqlite
        return
    _, release, first = _hold_the_writer(store)
    good = store.committer.submit(_add_tenant("good"))  # type: ignore[arg-type]
    clash = store.committer.submit(_add_tenant("first"))  # type: ignore[arg-type]
    release.set()
    first.result(10)  # type: ignore[attr-defined]
    assert good.result(10) == "good"
    with pytest.raises(Exception, match="UNIQUE"):
        clash.result(10)
    assert _count(store) == 2


def test_a_failed_commit_fails_every_request_in_it(store: Store) -> None:
    if store.committer is None:
        assert not store.is_sqlite
        return
    _, release, first = _hold_the_writer(store)
    queued = [store.committer.submit(_add_tenant(f"t{i}")) for i in range(5)]  # type: ignore[arg-type]

    def refuse(_conn: object) -> None:
        raise OSError("disk full")

    event.listen(store.engine, "commit", refuse)
    try:
        release.set()
        for future in [first, *queued]:
            with pytest.raises(StorageUnavailable):
                future.result(10)  # type: ignore[attr-defined]
    finally:
        event.remove(store.engine, "commit", refuse)
    assert _count(store) == 0  # nothing acknowledged, nothing stored
    assert store.committer.run(_add_tenant("after")) == "after"  # type: ignore[arg-type]
    assert _count(store) == 1


def test_async_callers_are_answered_after_the_commit(store: Store) -> None:
    """write_grouped: many coroutines on one loop share a commit; none is answered before it;
    a failed commit raises StorageUnavailable in every one of them."""
    if store.committer is None:
        assert not store.groups_commits
        with pytest.raises(RuntimeError):
            asyncio.run(store.write_grouped(_add_tenant("x")))  # type: ignore[arg-type]
        return
    _, release, first = _hold_the_writer(store)

    async def ten() -> list[str]:
        tasks = [
            asyncio.ensure_future(store.write_grouped(_add_tenant(f"a{i}")))  # type: ignore[arg-type]
            for i in range(10)
        ]
        await asyncio.sleep(0.2)
        assert not any(t.done() for t in tasks)  # the writer is held: no answer yet
        release.set()
        return list(await asyncio.gather(*tasks))

    assert asyncio.run(ten()) == [f"a{i}" for i in range(10)]
    first.result(10)  # type: ignore[attr-defined]
    assert _count(store) == 11

    def refuse(_conn: object) -> None:
        raise OSError("disk full")

    async def failing() -> list[BaseException | str]:
        tasks = [store.write_grouped(_add_tenant(f"b{i}")) for i in range(5)]  # type: ignore[arg-type]
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    event.listen(store.engine, "commit", refuse)
    try:
        answers = asyncio.run(failing())
    finally:
        event.remove(store.engine, "commit", refuse)
    assert all(isinstance(a, StorageUnavailable) for a in answers)
    assert _count(store) == 11  # none of the five stored


def test_the_wal_is_checkpointed_beside_the_writer(store: Store) -> None:
    """The writer leaves WAL checkpoints to a thread of its own (passive: it never blocks the
    writer); its own automatic checkpoint is only a distant backstop."""
    if store.committer is None:
        assert not store.is_sqlite  # PostgreSQL has no WAL file to checkpoint
        return
    from punchlog.services import groupcommit
    from punchlog.storage.driver import cursor

    committer = store.committer
    for i in range(2 * groupcommit.CHECKPOINT_EVERY):
        committer.run(_add_tenant(f"c{i}"))  # type: ignore[arg-type]
    assert committer.commits >= 2 * groupcommit.CHECKPOINT_EVERY
    deadline = time.monotonic() + 10
    while committer.checkpointer.checkpoints < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert committer.checkpointer.checkpoints >= 1

    def writer_setting(conn: Connection) -> int:
        cur = cursor(conn)
        cur.execute("PRAGMA wal_autocheckpoint")
        return int(cur.fetchone()[0])

    assert committer.run(writer_setting) == groupcommit.WRITER_AUTOCHECKPOINT_PAGES
    assert _count(store) == 2 * groupcommit.CHECKPOINT_EVERY  # every commit kept
    with store.engine.connect() as other:  # the pool's other connections keep the default
        raw = other.connection.dbapi_connection
        assert raw is not None
        assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
