"""Fresh databases for a benchmark run: a SQLite file, and a PostgreSQL database on the server
the tests use (found or started by tests/support/postgres.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.postgres import create_test_database, drop_test_database, find_or_start_postgres

WORK = Path(__file__).resolve().parents[1] / ".bench"


@contextmanager
def fresh_database(kind: str, name: str) -> Iterator[str]:
    if kind == "sqlite":
        folder = WORK / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        try:
            yield f"sqlite:///{folder / 'bench.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    server = find_or_start_postgres()
    database = f"punchlog_bench_{name}"
    try:
        yield create_test_database(server.admin_url, database)
    finally:
        drop_test_database(server.admin_url, database)
        server.stop()
