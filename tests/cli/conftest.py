"""The CLI under test, on SQLite and PostgreSQL in turn (through ``db_url``).

``run(*args)`` invokes ``punchlog`` in-process with ``PUNCHLOG_DATABASE_URL`` pointing at the
test database; Click 8.2+ keeps ``result.stdout`` and ``result.stderr`` apart. The helpers below
state what every command promises (spec/cli.md): ``--json`` is one JSON object on stdout and
nothing else; a failure is a non-zero exit and one ``error: ...`` line on stderr.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

import pytest
from click.testing import Result
from sqlalchemy import inspect
from typer.testing import CliRunner

from punchlog.cli.main import app
from punchlog.services import ingest, keys
from punchlog.services.store import Store
from punchlog.settings import Settings
from punchlog.storage.database import build_engine
from tests.support.postgres import PostgresServer, create_test_database, drop_test_database


class Run(Protocol):
    def __call__(self, *args: str) -> Result: ...


def runner_for(url: str) -> Run:
    """A ``run`` against ``url``. The stores a command opens are disposed once it returns: the
    CLI leaves that to process exit, and in-process their pooled PostgreSQL connections would
    be garbage-collected while open (ResourceWarning). ``test_misc`` checks that leak itself."""
    runner = CliRunner()
    from_settings = Store.from_settings.__func__  # type: ignore[attr-defined]

    def invoke(*args: str) -> Result:
        opened: list[Store] = []

        def tracking(cls: type[Store], settings: Settings) -> Store:
            store: Store = from_settings(cls, settings)
            opened.append(store)
            return store

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Store, "from_settings", classmethod(tracking))
            try:
                return runner.invoke(app, list(args), env={"PUNCHLOG_DATABASE_URL": url})
            finally:
                for store in opened:
                    store.dispose()

    return invoke


@pytest.fixture
def run(db_url: str) -> Run:
    """``run("tenant", "list", "--json")`` -> the Click result."""
    return runner_for(db_url)


@pytest.fixture
def fresh_db_url(db_url: str, tmp_path: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database with no schema at all, on the same backend as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"punchlog_cli_fresh_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = create_test_database(server.admin_url, name)
    yield url
    drop_test_database(server.admin_url, name)


# ------------------------------------------------------------------------------------------
# What a result must look like
# ------------------------------------------------------------------------------------------


def ok(result: Result) -> Result:
    """The command succeeded (its output is shown when it did not)."""
    assert result.exit_code == 0, (
        f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}\n"
        f"exception: {result.exception!r}"
    )
    return result


def ok_json(result: Result) -> dict[str, Any]:
    """A successful ``--json`` run: stdout is exactly one JSON object, stderr is empty."""
    ok(result)
    payload = json.loads(result.stdout)  # fails on anything but one JSON document
    assert isinstance(payload, dict), result.stdout
    assert result.stderr == "", result.stderr
    return payload


def failed(result: Result, *fragments: str) -> str:
    """A clean failure: non-zero exit, exactly one line on stderr starting with ``error:``, no
    traceback anywhere. Each of ``fragments`` must appear in that line (case-insensitive)."""
    assert result.exit_code != 0, f"unexpected success\nstdout: {result.stdout}"
    assert isinstance(result.exception, SystemExit), f"uncaught {result.exception!r}"
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    line = lines[0]
    assert line.startswith("error:"), line
    for fragment in fragments:
        assert fragment.lower() in line.lower(), f"{fragment!r} not in {line!r}"
    return line


# ------------------------------------------------------------------------------------------
# Logs pushed the way the API pushes them, and the database as stored
# ------------------------------------------------------------------------------------------


def push_logs(store: Store, key: str, items: list[object]) -> ingest.IngestResult:
    """Ingest ``items`` as the holder of ``key`` would through POST /v1/logs."""
    now = datetime.now(UTC)
    principal = keys.authenticate(store, key, now=now)
    sender = ingest.Sender(
        tenant_id=principal.tenant_id,
        key_id=principal.key_id,
        request_id=f"cli-test-{uuid.uuid4().hex}",
        policy=principal.policy,
    )
    return ingest.ingest_batch(store, sender, items, now=now, limits=ingest.Limits())


def every_stored_value(url: str) -> list[str]:
    """Every non-null value of every column of every table, as text (raw, as the driver
    returns it: on SQLite a datetime column holds integers, see storage.types)."""
    engine = build_engine(url)
    try:
        values: list[str] = []
        names = inspect(engine).get_table_names()
        assert names, "no tables"
        with engine.connect() as conn:
            for name in names:
                for row in conn.exec_driver_sql(f'SELECT * FROM "{name}"'):
                    values.extend(str(v) for v in row if v is not None)
        return values
    finally:
        engine.dispose()
