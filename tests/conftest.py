"""Shared fixtures. Every storage and service test runs on SQLite and on a real PostgreSQL
server (found or started by ``tests/support/postgres.py``; never skipped)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from punchlog.services.store import Store
from punchlog.settings import Settings
from punchlog.storage import migrate
from punchlog.storage.database import build_engine
from punchlog.storage.tables import metadata
from tests.support.postgres import (
    PostgresServer,
    create_test_database,
    drop_test_database,
    find_or_start_postgres,
)
from tests.support.world import World, build_world

BACKENDS = ["sqlite", "postgresql"]


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = find_or_start_postgres()  # raises, never skips, when no server can be had
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A migrated database for this xdist worker, emptied before each test that uses it."""
    name = f"punchlog_test_{_worker()}_{os.getpid()}"
    url = create_test_database(postgres_server.admin_url, name)
    engine = build_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    drop_test_database(postgres_server.admin_url, name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = build_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


def _empty_postgres(url: str) -> None:
    engine = build_engine(url)
    names = ", ".join(table.name for table in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """The URL of an empty, migrated database: SQLite and PostgreSQL in turn."""
    if request.param == "sqlite":
        path = tmp_path / "punchlog.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, rate_limit_per_second=0, metrics_token=METRICS_TOKEN)


METRICS_TOKEN = "test-metrics-token-0123456789"  # the operator's scraper, in tests


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    the_store = Store.from_settings(settings)
    yield the_store
    the_store.dispose()


@pytest.fixture
def world(store: Store) -> World:
    """Tenant ``acme`` (Asia/Kolkata) with devices, employees and one key of each scope."""
    return build_world(store)
