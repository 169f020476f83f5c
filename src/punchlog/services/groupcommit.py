"""Group commit for SQLite: one writer thread, many requests per transaction and per fsync.

SQLite has one writer at a time. Left to itself, every request opens ``BEGIN IMMEDIATE`` and
the rest wait in SQLite's busy handler (sleeping in growing steps), one fsync each. Here the
requests are queued instead; the writer thread takes everything queued (up to ``max_batch``),
runs each request's work inside one transaction, commits once, and only then answers each
request. A request that fails is rolled back alone: the group is rolled back and run again
with a savepoint per request. If the commit fails, every request in it fails: none is
acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine

from punchlog import metrics
from punchlog.errors import StorageUnavailable
from punchlog.storage import registry as registry_rows
from punchlog.storage.driver import cursor

log = logging.getLogger("punchlog.groupcommit")
T = TypeVar("T")


@dataclass
class _Item(Generic[T]):
    work: Callable[[Connection], T]
    future: Future[T] | asyncio.Future[T]
    loop: asyncio.AbstractEventLoop | None = None  # set when ``future`` is an asyncio one
    result: Any = None
    error: BaseException | None = None


_STOP = object()


# The writer's connection moves the WAL into the database file itself only as a backstop
# (SQLite's automatic checkpoint, run by the committing connection inside its COMMIT):
# normally a checkpointer thread does it beside the writer, every CHECKPOINT_EVERY commits.
WRITER_AUTOCHECKPOINT_PAGES = 20_000
CHECKPOINT_EVERY = 16


class Checkpointer:
    """``PRAGMA wal_checkpoint(PASSIVE)`` on a connection of its own, in a thread of its own,
    when poked: the copy of WAL pages into the database file and its fsync leave the
    writer's critical path (a passive checkpoint never blocks the writer, nor waits for it).
    A failed checkpoint is logged and tried again at the next poke; the writer's automatic
    checkpoint bounds the WAL if this falls behind."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.checkpoints = 0

    def poke(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="checkpoint", daemon=True)
            self._thread.start()
        self._wake.set()

    def close(self) -> None:
        if self._thread is not None:
            self._stop = True
            self._wake.set()
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        raw = None
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stop:
                break
            try:
                if raw is None:
                    raw = self.engine.raw_connection()
                raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)")
                self.checkpoints += 1
            except Exception as exc:
                log.warning("WAL checkpoint failed: %s", exc)
                if raw is not None:
                    raw.invalidate()
                    raw = None
        if raw is not None:
            raw.close()


class GroupCommitter:
    def __init__(self, engine: Engine, max_batch: int = 64) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.checkpointer = Checkpointer(engine)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._conn: Connection | None = None  # the writer thread's own
        self.commits = 0  # transactions committed (for tests and metrics)

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in the next group transaction; return after that commit."""
        return self.submit(work).result()

    def submit(self, work: Callable[[Connection], T]) -> Future[T]:
        future: Future[T] = Future()
        self._put(_Item(work, future))
        return future

    def submit_async(
        self, work: Callable[[Connection], T], loop: asyncio.AbstractEventLoop
    ) -> asyncio.Future[T]:
        """As :meth:`submit`, for a caller on ``loop``: the group's futures are settled with
        one call into the loop after the commit (no thread waits, one wake-up per group)."""
        future: asyncio.Future[T] = loop.create_future()
        self._put(_Item(work, future, loop))
        return future

    def _put(self, item: _Item[Any]) -> None:
        self._start()
        self._queue.put(item)

    def close(self) -> None:
        with self._lock:
            if self._thread is None:
                return
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
            self._thread = None
            if self._conn is not None:
                self._conn.invalidate()
                self._conn.close()
                self._conn = None
        self.checkpointer.close()

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="group-commit", daemon=True)
                self._thread.start()

    def _take(self, first: Any) -> tuple[list[_Item[Any]], bool]:
        metrics.QUEUE_DEPTH.set(self._queue.qsize() + 1)
        items = [first]
        stop = False
        while len(items) < self.max_batch:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is _STOP:
                stop = True
                break
            items.append(nxt)
        return items, stop

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            items, stop = self._take(first)
            self._commit(items)
            if stop:
                return

    def _commit(self, items: list[_Item[Any]]) -> None:
        started = time.perf_counter()
        try:
            try:
                self._run(items, isolated=False)
            except _Abandon:
                # A request failed and the group was rolled back: run the group again, each
                # request in a savepoint, so the failing one is rolled back alone.
                self._run(items, isolated=True)
        except Exception as exc:  # the commit itself failed: nobody is acknowledged
            log.error("group commit of %d requests failed", len(items), exc_info=exc)
            failure = StorageUnavailable("Storage unavailable; retry later")
            failure.__cause__ = exc
            for item in items:
                item.result, item.error = None, failure
            metrics.COMMIT_FAILURES.inc()
        else:
            self.commits += 1
            metrics.COMMIT_SECONDS.observe(time.perf_counter() - started)
            metrics.GROUP_SIZE.observe(len(items))
            if self.commits % CHECKPOINT_EVERY == 0:
                self.checkpointer.poke()
        _settle(items)

    def _run(self, items: list[_Item[Any]], *, isolated: bool) -> None:
        """One transaction for the group (BEGIN IMMEDIATE, storage/database.py). Optimistic
        (``isolated`` false): no savepoints, which cost more than a request's own work; the
        first failing request abandons the group. Isolated: a savepoint per request."""
        conn = self._connection()
        try:
            with conn.begin(), registry_rows.group_memo(conn):
                self._each(conn, items, isolated=isolated)
        except BaseException:
            self._conn = None  # start the next group on a fresh connection
            conn.invalidate()  # not back to the pool: it has the writer's own settings
            conn.close()
            raise

    def _connection(self) -> Connection:
        """The writer's connection, kept between groups (no pool round trip per group)."""
        if self._conn is None:
            conn = self.engine.connect()
            raw = cursor(conn)
            raw.execute(f"PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT_PAGES}")
            # Foreign-key checks off on this connection only: the writer runs ingest work
            # alone (services.ingest), where they cost four parent lookups per punch, 13-14 %
            # of batch throughput, and guard what cannot happen there: every id it stores was
            # checked against the tenant's registry version in the same transaction, and no
            # code deletes tenants, devices, employees or requests. Every other SQLite
            # connection keeps them, PostgreSQL always enforces them (the suite runs on both),
            # and tests/api/test_writer_integrity.py runs foreign_key_check after a load.
            raw.execute("PRAGMA foreign_keys=OFF")
            self._conn = conn
        return self._conn

    @staticmethod
    def _each(conn: Connection, items: list[_Item[Any]], *, isolated: bool) -> None:
        for item in items:
            item.result, item.error = None, None
            if not isolated:
                try:
                    item.result = item.work(conn)
                except Exception as exc:
                    raise _Abandon() from exc
                continue
            savepoint = cursor(conn)
            savepoint.execute("SAVEPOINT request")
            try:
                item.result = item.work(conn)
            except Exception as exc:
                item.error = exc
                savepoint.execute("ROLLBACK TO SAVEPOINT request")
            savepoint.execute("RELEASE SAVEPOINT request")


class _Abandon(Exception):
    """A request of an optimistic group failed: roll the group back and isolate."""


def _settle(items: list[_Item[Any]]) -> None:
    """Answer every request of the group: thread futures here, asyncio futures on their loop
    (one call per loop)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Item[Any]]] = {}
    for item in items:
        if item.loop is None:
            _set(item)
        else:
            by_loop.setdefault(item.loop, []).append(item)
    for loop, group in by_loop.items():
        try:
            loop.call_soon_threadsafe(_set_all, group)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            log.warning("%d answers dropped: their event loop is closed", len(group))


def _set_all(items: list[_Item[Any]]) -> None:
    for item in items:
        _set(item)


def _set(item: _Item[Any]) -> None:
    if item.future.done():  # an asyncio caller that went away (cancelled)
        return
    if item.error is not None:
        item.future.set_exception(item.error)
    else:
        item.future.set_result(item.result)
