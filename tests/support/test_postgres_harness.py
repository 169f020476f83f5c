"""The PostgreSQL test harness talks to real servers: none of these tests is ever skipped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support import postgres
from tests.support.postgres import (
    PostgresServer,
    PostgresUnavailableError,
    create_test_database,
    drop_test_database,
    find_or_start_postgres,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    found = find_or_start_postgres()
    try:
        yield found
    finally:
        found.stop()


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A private lock/state directory, so these tests never touch the shared throwaway server.

    Not pytest's tmp_path: that is mode 0700 and the ``postgres`` OS user must reach inside.
    """
    path = Path(tempfile.mkdtemp(prefix="punchlog-pg-harness-"))
    try:
        yield path
    finally:
        state = postgres._read_state(path)
        if state is not None:  # a failed test left a server behind
            postgres._stop_cluster(postgres._Cluster.from_json(state["cluster"]))
        shutil.rmtree(path, ignore_errors=True)


def _events(state_dir: Path) -> list[str]:
    return (state_dir / "events.log").read_text().splitlines()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_admin_url_connects_and_answers_select_1(server: PostgresServer) -> None:
    assert make_url(server.admin_url).drivername == "postgresql+psycopg"
    with postgres._connect(server.admin_url) as conn:
        row = conn.execute("SELECT 1").fetchone()
    assert row == (1,)


def test_server_kind_follows_the_lookup_order(server: PostgresServer) -> None:
    if os.environ.get(postgres.ENV_URL, "").strip():
        assert server.kind == "env"
    elif postgres._connect_error(postgres._probe_url()) is None:
        assert server.kind == "probe"
    else:
        assert server.kind in {"throwaway", "pgserver"}


def test_admin_url_works_with_sqlalchemy(server: PostgresServer) -> None:
    engine = create_engine(server.admin_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_create_and_drop_database_round_trip(server: PostgresServer) -> None:
    name = f"punchlog_harness_{uuid.uuid4().hex[:12]}"
    url = create_test_database(server.admin_url, name)
    try:
        assert make_url(url).database == name
        assert make_url(url).drivername == "postgresql+psycopg"
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                assert conn.execute(text("SELECT current_database()")).scalar_one() == name
                conn.execute(text("CREATE TABLE leftover (x int)"))
        finally:
            engine.dispose()

        # Re-creating gives an empty database, even while a session is still connected to it.
        held = postgres._connect(url)
        try:
            assert create_test_database(server.admin_url, name) == url
            with pytest.raises(psycopg.OperationalError):
                held.execute("SELECT 1")
        finally:
            held.close()
        with postgres._connect(url) as conn:
            assert conn.execute("SELECT to_regclass('leftover')").fetchone() == (None,)
    finally:
        drop_test_database(server.admin_url, name)

    with postgres._connect(server.admin_url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name])
        assert row.fetchone() == (0,)
    drop_test_database(server.admin_url, name)  # dropping a missing database is fine


def test_throwaway_server_starts_even_when_another_is_up() -> None:
    cluster = postgres._start_cluster()
    try:
        assert cluster.port != 5432
        with postgres._connect(cluster.admin_url) as conn:
            version = conn.execute("SELECT version()").fetchone()
            port = conn.execute("SHOW port").fetchone()
        assert version is not None
        assert version[0].startswith("PostgreSQL ")
        assert port == (str(cluster.port),)
        url = create_test_database(cluster.admin_url, "harness_db")
        with postgres._connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("harness_db",)
    finally:
        postgres._stop_cluster(cluster)
    assert postgres._connect_error(cluster.admin_url) is not None
    assert not cluster.base_dir.exists()


def test_leases_share_one_server_and_the_last_release_stops_it(state_dir: Path) -> None:
    first = postgres._acquire_shared_throwaway(state_dir)
    second = postgres._acquire_shared_throwaway(state_dir)
    assert first.kind == second.kind == "throwaway"
    assert first.admin_url == second.admin_url
    events = _events(state_dir)
    assert len(events) == 2
    assert "started server" in events[0]
    assert "reusing server" in events[1]

    first.stop()
    first.stop()  # idempotent
    assert postgres._connect_error(second.admin_url) is None

    second.stop()
    assert postgres._connect_error(second.admin_url) is not None
    assert not (state_dir / "state.json").exists()
    assert "stopped server" in _events(state_dir)[-1]


def test_leases_of_dead_processes_do_not_keep_the_server_alive(state_dir: Path) -> None:
    mine = postgres._acquire_shared_throwaway(state_dir)
    state = json.loads((state_dir / "state.json").read_text())
    state["leases"].append({"pid": _dead_pid(), "start": "1", "token": "crashed-worker"})
    (state_dir / "state.json").write_text(json.dumps(state))

    mine.stop()
    assert postgres._connect_error(mine.admin_url) is not None
    assert not (state_dir / "state.json").exists()


def test_a_dead_server_in_the_state_file_is_replaced(state_dir: Path) -> None:
    first = postgres._acquire_shared_throwaway(state_dir)
    try:
        state = postgres._read_state(state_dir)
        assert state is not None
        postgres._stop_server_process(postgres._Cluster.from_json(state["cluster"]))  # a crash
        second = postgres._acquire_shared_throwaway(state_dir)
        try:
            assert postgres._connect_error(second.admin_url) is None
            assert "stale server" in _events(state_dir)[1]
        finally:
            second.stop()
        assert postgres._connect_error(second.admin_url) is None  # `first` still holds a lease
    finally:
        first.stop()
    assert not (state_dir / "state.json").exists()


_CHILD = """
import sys
from pathlib import Path
from tests.support.postgres import _acquire_shared_throwaway

server = _acquire_shared_throwaway(Path(sys.argv[1]))
print(server.admin_url, flush=True)
sys.stdin.readline()
server.stop()
"""


def test_concurrent_processes_start_only_one_server(state_dir: Path) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(state_dir)],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    urls: list[str] = []
    outputs: list[tuple[str, str]] = []
    try:
        for child in children:
            assert child.stdout is not None
            urls.append(child.stdout.readline().strip())  # both hold a lease now
    finally:
        for child in children:
            outputs.append(child.communicate(input="\n", timeout=120))
    assert [child.returncode for child in children] == [0, 0], outputs
    assert urls[0], outputs
    assert urls[0] == urls[1]
    started = [line for line in _events(state_dir) if "started server" in line]
    assert len(started) == 1
    assert postgres._connect_error(urls[0]) is not None  # the last one out stopped it
    assert not (state_dir / "state.json").exists()


def test_unreachable_env_url_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(postgres.ENV_URL, "postgresql+psycopg://postgres@127.0.0.1:1/test")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(PostgresUnavailableError, match=r"never skipped in CI") as info:
        find_or_start_postgres()
    assert postgres.ENV_URL in str(info.value)


def test_env_url_is_used_as_is(server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(postgres.ENV_URL, server.admin_url)
    found = find_or_start_postgres()
    assert found.kind == "env"
    assert found.admin_url == server.admin_url
    found.stop()  # not ours: a no-op
    assert postgres._connect_error(server.admin_url) is None


def test_no_server_anywhere_fails_loudly_in_ci(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(postgres.ENV_URL, raising=False)
    monkeypatch.setenv(postgres.ENV_PROBE, "127.0.0.1:1")
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(postgres, "_default_state_dir", lambda: state_dir)
    monkeypatch.setattr(postgres, "_find_bindir", lambda: None)
    monkeypatch.setitem(sys.modules, "pgserver", None)  # makes `import pgserver` fail
    assert postgres.in_ci()
    with pytest.raises(PostgresUnavailableError) as info:
        find_or_start_postgres()
    message = str(info.value)
    assert "127.0.0.1:1" in message
    assert "no local PostgreSQL binaries" in message
    assert "pgserver: not importable" in message
    assert "never skipped in CI" in message
