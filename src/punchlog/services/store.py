"""The store: an engine, and the two kinds of transaction the services open.

A database that cannot be reached, times out or fails to commit surfaces as
:class:`~punchlog.errors.StorageUnavailable` (HTTP 503): never an acknowledgement of data that
is not committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from punchlog.errors import InvalidInput, StorageUnavailable
from punchlog.services.groupcommit import GroupCommitter
from punchlog.services.registry import Registry
from punchlog.settings import Settings
from punchlog.storage import migrate
from punchlog.storage.database import READONLY, build_engine
from punchlog.storage.driver import (
    DRIVER_DATA_ERRORS,
    DRIVER_ERRORS,
    DRIVER_INTEGRITY_ERRORS,
)

log = logging.getLogger("punchlog.store")
T = TypeVar("T")

# PostgreSQL SQLSTATEs worth one more try: serialization_failure, deadlock_detected.
_RETRYABLE = {"40001", "40P01"}
# SQLAlchemy's wrapped errors, and the driver's own from storage.driver's hot-path statements.
_INTEGRITY: tuple[type[Exception], ...] = (IntegrityError, *DRIVER_INTEGRITY_ERRORS)
_DATA: tuple[type[Exception], ...] = (DataError, *DRIVER_DATA_ERRORS)
_UNAVAILABLE: tuple[type[Exception], ...] = (DBAPIError, PoolTimeout, *DRIVER_ERRORS)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    def __init__(self, engine: Engine, *, group_commit: bool = False) -> None:
        self.engine = engine
        self.registry = Registry()  # keys, devices, employees cached for the ingest hot path
        # SQLite only: one writer thread shares transactions and fsyncs between requests.
        self.committer = (
            GroupCommitter(engine) if group_commit and engine.dialect.name == "sqlite" else None
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        return cls(
            build_engine(
                settings.database_url,
                sqlite_synchronous=settings.sqlite_synchronous,
                sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
                pool_size=settings.pool_size,
                pool_timeout_seconds=settings.pool_timeout_seconds,
                statement_timeout_seconds=settings.statement_timeout_seconds,
            ),
            group_commit=settings.group_commit,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def migrate(self) -> None:
        with self._unavailable_as_503():
            migrate.upgrade(self.engine)

    def dispose(self) -> None:
        if self.committer is not None:
            self.committer.close()
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (SQLite: BEGIN IMMEDIATE), committed on leaving the block."""
        with self._unavailable_as_503(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction that runs beside the writer."""
        with (
            self._unavailable_as_503(),
            self.engine.connect() as conn,
            conn.execution_options(**{READONLY: True}).begin(),
        ):
            yield conn

    def write_with_retry(self, work: Callable[[Connection], T], attempts: int = 3) -> T:
        """Run ``work`` in a write transaction, again on a deadlock or serialization failure
        (SQLite with group commit: in the next group transaction)."""
        if self.committer is not None:
            with self._unavailable_as_503():
                return self.committer.run(work)
        for attempt in range(1, attempts + 1):
            with self._unavailable_as_503():  # the one mapping of database errors
                try:
                    with self.engine.begin() as conn:
                        return work(conn)
                except OperationalError as exc:
                    code = getattr(exc.orig, "sqlstate", None)
                    if code not in _RETRYABLE or attempt == attempts:
                        raise
                    log.warning("retrying transaction after %s (attempt %d)", code, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def groups_commits(self) -> bool:
        return self.committer is not None

    async def write_grouped(self, work: Callable[[Connection], T]) -> T:
        """With group commit: ``work`` in the next group transaction, awaited on the caller's
        event loop (no thread held while it waits); answered after that commit."""
        if self.committer is None:
            raise RuntimeError("write_grouped needs group commit (SQLite)")

        return await self.committer.submit_async(
            partial(self._mapped, work), asyncio.get_running_loop()
        )

    def _mapped(self, work: Callable[[Connection], T], conn: Connection) -> T:
        """``work``, with database errors mapped as :meth:`_unavailable_as_503` maps them."""
        try:
            return work(conn)
        except Exception:
            with self._unavailable_as_503():  # on the failure path only (a cheaper happy path)
                raise

    @contextmanager
    def _unavailable_as_503(self) -> Iterator[None]:
        try:
            yield
        except _INTEGRITY:
            raise
        except _DATA as exc:  # a value the database refuses: the caller's to fix
            raise InvalidInput("A value is too long or out of range") from exc
        except _UNAVAILABLE as exc:
            log.error("storage error: %s", exc.__class__.__name__, exc_info=exc)
            raise StorageUnavailable("Storage unavailable; retry later") from exc
