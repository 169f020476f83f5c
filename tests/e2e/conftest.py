"""End-to-end harness: real ``punchlog`` processes (serve, demo, CLI commands) on 127.0.0.1,
against a fresh SQLite file or a fresh PostgreSQL database.

Data is prepared with the services (or the CLI) *before* a server starts; the server is a real
subprocess of the ``punchlog`` console script, found next to the running interpreter.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from punchlog.services.store import Store
from punchlog.settings import Settings
from punchlog.storage.database import build_engine
from tests.support.postgres import PostgresServer, create_test_database, drop_test_database
from tests.support.world import World, build_world

PUNCHLOG = Path(sys.executable).parent / "punchlog"
HOST = "127.0.0.1"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
CLI_TIMEOUT_S = 60.0
BACKENDS = ["sqlite", "postgresql"]


# --------------------------------------------------------------------------------------------
# Environment, ports, databases
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def punchlog_env(db_url: str, **extra: str) -> dict[str, str]:
    """The environment of a child ``punchlog``: ours without any PUNCHLOG_* or terminal hints,
    plus the database URL and ``extra`` (``PUNCHLOG_<NAME>`` keys)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PUNCHLOG_") and k not in ("COLUMNS", "LINES")
    }
    env["PUNCHLOG_DATABASE_URL"] = db_url
    env.update(extra)
    return env


@dataclass(frozen=True)
class Database:
    backend: str  # "sqlite" or "postgresql"
    url: str
    path: Path | None = None  # the SQLite file

    def engine(self) -> Engine:
        return build_engine(self.url)


@contextlib.contextmanager
def fresh_database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Database]:
    """A new, empty database (no schema yet): a SQLite file in ``tmp_path`` or a PostgreSQL
    database created for this test and dropped afterwards."""
    if backend == "sqlite":
        path = tmp_path / f"punchlog-{uuid.uuid4().hex[:8]}.db"
        yield Database("sqlite", f"sqlite:///{path}", path)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"punchlog_e2e_{uuid.uuid4().hex[:12]}"
    url = create_test_database(server.admin_url, name)
    try:
        yield Database("postgresql", url)
    finally:
        drop_test_database(server.admin_url, name)


def prepare_world(db: Database) -> World:
    """Migrate the schema and build the test tenant ``acme`` with the services."""
    store = Store.from_settings(Settings(database_url=db.url))
    try:
        store.migrate()
        return build_world(store)
    finally:
        store.dispose()


# --------------------------------------------------------------------------------------------
# The CLI
# --------------------------------------------------------------------------------------------


def run_cli(
    db_url: str,
    *args: str,
    timeout: float = CLI_TIMEOUT_S,
    diagnostics: Callable[[], str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``punchlog ARGS`` to completion; fail the test (with its stderr, and ``diagnostics``,
    e.g. a server's log) on a non-zero exit."""
    proc = subprocess.run(
        [str(PUNCHLOG), *args],
        env=punchlog_env(db_url),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"punchlog {' '.join(args)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            + (f"\n--- diagnostics:\n{diagnostics()[-4000:]}" if diagnostics else "")
        )
    return proc


def run_cli_json(
    db_url: str,
    *args: str,
    timeout: float = CLI_TIMEOUT_S,
    diagnostics: Callable[[], str] | None = None,
) -> dict[str, Any]:
    """Run ``punchlog ARGS --json``; its stdout must be exactly one JSON object."""
    out = run_cli(db_url, *args, "--json", timeout=timeout, diagnostics=diagnostics).stdout
    try:
        payload = json.loads(out)
    except ValueError:
        pytest.fail(f"punchlog {' '.join(args)} --json printed no single JSON object:\n{out}")
    assert isinstance(payload, dict), out
    return payload


# --------------------------------------------------------------------------------------------
# Server processes
# --------------------------------------------------------------------------------------------


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def readyz_status(port: int, timeout: float = 5.0) -> int | None:
    """The status of GET /readyz (the service can store logs), or None when nothing answers."""
    try:
        return http_get(port, "/readyz", timeout)[0]
    except (OSError, http.client.HTTPException):
        return None


def end_process(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM, wait, then SIGKILL the process group we started (it runs in its own session)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # workers included
        proc.wait(timeout=STOP_TIMEOUT_S)


def close_pipes(proc: subprocess.Popen[Any]) -> None:
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """End the process, then close its pipes."""
    try:
        end_process(proc)
    finally:
        close_pipes(proc)


@dataclass
class Server:
    """A running ``punchlog serve``."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    db: Database

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerDied(self)
            if readyz_status(self.port, timeout=2.0) == 200:
                return
            time.sleep(0.1)
        stop_process(self.proc)
        pytest.fail(
            f"punchlog serve on port {self.port} never answered GET /readyz 200 "
            f"within {timeout:.0f} s; its stderr:\n{self.log()[-4000:]}"
        )


class ServerDied(Exception):
    def __init__(self, server: Server) -> None:
        super().__init__(f"punchlog serve exited {server.proc.returncode}")
        self.server = server


@contextlib.contextmanager
def run_server(db: Database, log_dir: Path, *args: str, **env: str) -> Iterator[Server]:
    """Start ``punchlog serve --host 127.0.0.1 --port <free> ARGS`` and wait for /readyz."""
    server: Server | None = None
    for attempt in range(3):  # a fresh port again if another process took ours meanwhile
        port = free_port()
        log_path = log_dir / f"serve-{port}.log"
        with log_path.open("wb") as log_file:
            proc = subprocess.Popen(
                [str(PUNCHLOG), "serve", "--host", HOST, "--port", str(port), *args],
                env=punchlog_env(db.url, **env),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        candidate = Server(proc, port, log_path, db)
        try:
            candidate.wait_ready()
        except ServerDied:
            stop_process(proc)
            output = candidate.log()
            if "address already in use" in output.lower() and attempt < 2:
                continue
            pytest.fail(f"punchlog serve exited {proc.returncode} on start:\n{output[-4000:]}")
        except BaseException:
            stop_process(proc)
            raise
        server = candidate
        break
    assert server is not None
    try:
        yield server
    finally:
        stop_process(server.proc)


# --------------------------------------------------------------------------------------------
# HTTP on a raw socket, and the database behind the server
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _recv_until(sock: socket.socket, buf: bytearray, done: Any) -> None:
    while not done(buf):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed early; got {bytes(buf[:300])!r}")
        buf += chunk


def read_response(sock: socket.socket) -> RawResponse:
    """Read one HTTP/1.1 response (Content-Length or chunked body) from ``sock``."""
    buf = bytearray()
    _recv_until(sock, buf, lambda b: b"\r\n\r\n" in b)
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = bytearray(rest)
    if "content-length" in headers:
        length = int(headers["content-length"])
        _recv_until(sock, body, lambda b: len(b) >= length)
        return RawResponse(status, headers, bytes(body[:length]))
    assert headers.get("transfer-encoding", "").lower() == "chunked", headers
    decoded = bytearray()
    while True:
        _recv_until(sock, body, lambda b: b"\r\n" in b)
        size_line, _, remainder = bytes(body).partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        body = bytearray(remainder)
        _recv_until(sock, body, lambda b, n=size: len(b) >= n + 2)
        decoded += body[:size]
        body = body[size + 2 :]
        if size == 0:
            return RawResponse(status, headers, bytes(decoded))


def raw_request(port: int, data: bytes, timeout: float = 10.0) -> RawResponse:
    """Send ``data`` (a complete request, bytes as they go on the wire) and read the answer."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_response(sock)


def query(db: Database, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = db.engine()
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def scalar(db: Database, sql: str, **params: Any) -> Any:
    rows = query(db, sql, **params)
    assert len(rows) == 1, rows
    return rows[0][0]


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh database, SQLite and PostgreSQL in turn."""
    with fresh_database(request.param, tmp_path, request) as db:
        yield db


@pytest.fixture
def pg_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh PostgreSQL database."""
    with fresh_database("postgresql", tmp_path, request) as db:
        yield db


@dataclass(frozen=True)
class LiveWorld:
    server: Server
    world: World

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def db(self) -> Database:
        return self.server.db


@pytest.fixture
def live(database: Database, tmp_path: Path) -> Iterator[LiveWorld]:
    """Tenant ``acme`` (tests/support/world.py) prepared with the services, then a real
    ``punchlog serve`` on it (SQLite and PostgreSQL in turn)."""
    world = prepare_world(database)
    with run_server(database, tmp_path) as server:
        yield LiveWorld(server, world)
