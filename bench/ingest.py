"""Ingestion benchmark (issue 4's measuring stick), SQLite with synchronous=FULL:

* batches: 1000-log requests of fresh logs, 4 connections, against ``punchlog serve``; the
  floor is the same stream parsed with orjson and appended with one ``executemany`` per batch
  into a table whose unique index is the natural key, in one process, no HTTP;
* single logs: one log per request, 32 connections, against ``punchlog serve`` and against a
  naive FastAPI peer that commits one SQLite transaction per request (bench/naive.py).

Load comes from ``wrk`` (a separate process; bench/logs.lua makes every request's logs
fresh). Every figure is measured in the same run, so ratios are fair on a noisy machine.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

from bench.databases import WORK
from bench.naive import INSERT, SCHEMA
from punchlog.services import devices, employees, keys, tenants
from punchlog.services.employees import EmployeeIn
from punchlog.services.store import Store
from punchlog.settings import Settings

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
DEVICES = ("4f5b878d-7fe4-4b34-8eed-651b3d20c4c2", "9b2e4c1a-3d5f-4e6a-8b7c-0d1e2f3a4b5c")
EMPLOYEES = 1000


@dataclass(frozen=True)
class Load:
    requests: int
    failed: int  # answers other than 200
    server_errors: int  # of which 5xx
    errors: int  # socket errors and timeouts, as wrk counts them
    seconds: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def base_epoch() -> int:
    """Logs start 29 days back (inside the 30-day window) and move forward in time."""
    return int((datetime.now(UTC) - timedelta(days=29)).timestamp())


def prepare(url: str) -> str:
    """Tenant, two devices, 1000 employees; returns an ingest key."""
    store = Store.from_settings(Settings(database_url=url))
    try:
        store.migrate()
        tenants.create_tenant(store, "bench", timezone="UTC")
        for identifier in DEVICES:
            devices.add_device(store, "bench", identifier=identifier)
        employees.upsert_employees(
            store, "bench", [EmployeeIn(f"E{i:04d}") for i in range(EMPLOYEES)]
        )
        return keys.issue_key(store, "bench", scope="ingest").key
    finally:
        store.dispose()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(
    argv: list[str], env: dict[str, str], port: int, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """The server process; its output goes to ``log`` (errors are printed from there)."""
    handle = log.open("wb") if log is not None else None
    proc = subprocess.Popen(
        argv, env=env, stdout=handle or subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"server {argv} did not start")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if handle is not None and log is not None:
            handle.close()
            errors = [ln for ln in log.read_text().splitlines() if "ERROR" in ln or "Error" in ln]
            for line in errors[:20]:
                print(f"server: {line}", file=sys.stderr)


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (workers), MiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


def drive(
    port: int, key: str, batch: int, connections: int, seconds: int, pid: int
) -> tuple[Load, float]:
    """Run wrk against the server; returns the load and the server's peak RSS (MiB)."""
    argv = [
        "wrk",
        f"-t{min(connections, 2)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",  # a slow answer is slow, not a failure: only non-200s and socket errors count
        "-s",
        str(HERE / "logs.lua"),
        f"http://127.0.0.1:{port}/v1/logs",
        "--",
        str(batch),
        key,
        str(base_epoch()),
        *DEVICES,
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0.0
    started = time.monotonic()
    while proc.poll() is None:
        peak = max(peak, rss_mib(pid))
        time.sleep(0.25)
    elapsed = time.monotonic() - started
    out = proc.stdout.read() if proc.stdout else ""
    if proc.stdout:
        proc.stdout.close()
    for line in out.splitlines():
        if line.startswith("wrk: "):
            print(line, file=sys.stderr)
    match = re.search(r"BENCH requests=(\d+) non200=(\d+) 5xx=(\d+) errors=(\d+)", out)
    if match is None:
        raise RuntimeError(f"wrk failed:\n{out}")
    duration = float(re.search(r"requests in ([\d.]+)(m?s)", out).group(1))  # type: ignore[union-attr]
    unit = re.search(r"requests in [\d.]+(m?s)", out).group(1)  # type: ignore[union-attr]
    duration = duration / 1000 if unit == "ms" else duration
    load = Load(
        requests=int(match.group(1)),
        failed=int(match.group(2)),
        server_errors=int(match.group(3)),
        errors=int(match.group(4)),
        seconds=duration or elapsed,
    )
    return load, peak


def floor(seconds: int, folder: Path) -> float:
    """Logs/s of the in-process floor: orjson + one executemany per 1000-log batch, WAL,
    synchronous=FULL, unique natural key."""
    conn = sqlite3.connect(folder / "floor.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(SCHEMA)
    base = base_epoch()
    n = 0
    logs = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        items = []
        for _ in range(1000):
            stamp = datetime.fromtimestamp(base + n // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            items.append(
                {
                    "DeviceIdentifier": DEVICES[n % 2],
                    "EmployeeAttendanceNumber": f"E{n % 1000:04d}",
                    "Timestamp": stamp,
                    "Status": (n // 1000) % 2,
                }
            )
            n += 1
        body = orjson.dumps(items)  # what arrives on the wire
        rows = [
            (i["DeviceIdentifier"], i["EmployeeAttendanceNumber"], i["Timestamp"], i["Status"])
            for i in orjson.loads(body)
        ]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, rows)
        conn.execute("COMMIT")
        logs += len(rows)
    elapsed = time.perf_counter() - started
    conn.close()
    return logs / elapsed


@dataclass(frozen=True)
class Row:
    """One line of the table: our figure beside its floor or peer, from the same run."""

    figure: str
    ours: float
    other: float | None
    other_name: str
    loads: tuple[Load, ...]
    peak_rss_mib: float | None = None

    @property
    def ratio(self) -> float | None:
        return None if not self.other else self.ours / self.other

    @property
    def failed(self) -> int:
        return sum(load.failed for load in self.loads)

    @property
    def errors(self) -> int:
        return sum(load.errors for load in self.loads)


def _punchlog(
    url: Callable[[str], AbstractContextManager[str]],
    env: dict[str, str],
    folder: Path,
    seconds: int,
    workers: int,
) -> tuple[Load, Load, float]:
    """Batches, then single logs, each against a fresh database and a fresh ``punchlog
    serve`` (as the naive peer gets a fresh database); and the peak RSS of either."""
    loads: list[Load] = []
    peak = 0.0
    for batch, connections in ((1000, 4), (1, 32)):
        with url(f"{batch}_{uuid.uuid4().hex[:6]}") as database:
            key = prepare(database)
            port = _free_port()
            argv = [str(BIN / "punchlog"), "serve", "--port", str(port)]
            if workers > 1:
                argv += ["--workers", str(workers)]
            log = folder / f"server-{uuid.uuid4().hex[:6]}.log"
            with server(argv, {**env, "PUNCHLOG_DATABASE_URL": database}, port, log) as proc:
                load, rss = drive(port, key, batch, connections, seconds, proc.pid)
        loads.append(load)
        peak = max(peak, rss)
    return loads[0], loads[1], peak


@contextmanager
def _sqlite_in(folder: Path, name: str) -> Iterator[str]:
    yield f"sqlite:///{folder / name}.db"


def _naive(env: dict[str, str], folder: Path, seconds: int, key: str) -> Load:
    port = _free_port()
    argv = [
        str(BIN / "uvicorn"),
        "--factory",
        "bench.naive:app",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    naive_env = {
        **env,
        "PUNCHLOG_NAIVE_DB": str(folder / "naive.db"),
        "PYTHONPATH": str(HERE.parent),
    }
    with server(argv, naive_env, port) as proc:
        naive, _ = drive(port, key, 1, 32, seconds, proc.pid)
    return naive


def run(seconds: int = 15, *, group_commit: bool = True, postgres: bool = True) -> list[Row]:
    """Every leg, one after the other, in one run: SQLite (with the floor and the naive peer),
    then PostgreSQL with one worker and with two."""
    folder = WORK / f"ingest-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHLOG_")}
    env.update(
        PUNCHLOG_RATE_LIMIT_PER_SECOND="0",
        PUNCHLOG_RECOMPUTE_INTERVAL_SECONDS="0",
        PUNCHLOG_LOG_LEVEL="warning",
        PUNCHLOG_GROUP_COMMIT=str(group_commit).lower(),
    )
    try:
        batches, singles, peak = _punchlog(
            lambda name: _sqlite_in(folder, name), env, folder, seconds, workers=1
        )
        floor_rate = floor(seconds, folder)
        naive = _naive(env, folder, seconds, key="-")
        rows = [
            Row(
                "SQLite: 1000-log batches, 4 conns (logs/s)",
                batches.per_second * 1000,
                floor_rate,
                "floor",
                (batches,),
            ),
            Row(
                "SQLite: single logs, 32 conns (req/s)",
                singles.per_second,
                naive.per_second,
                "naive",
                (singles, naive),
            ),
            Row("SQLite: peak server RSS (MiB)", peak, None, "", (), peak),
        ]
        if postgres:
            rows += _postgres_rows(env, folder, seconds)
        return rows
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def _postgres_rows(env: dict[str, str], folder: Path, seconds: int) -> list[Row]:
    """The same loads on PostgreSQL, one worker then two: the ratio is two over one."""
    from bench.databases import fresh_database

    figures = {}
    for workers in (1, 2):

        def database(name: str, w: int = workers) -> AbstractContextManager[str]:
            return fresh_database("postgresql", f"ingest_{w}_{name}")

        figures[workers] = _punchlog(
            database,
            env,
            folder,
            seconds,
            workers,
        )
    (b1, s1, p1), (b2, s2, p2) = figures[1], figures[2]
    return [
        Row(
            "PostgreSQL: batches, 2 workers vs 1 (logs/s)",
            b2.per_second * 1000,
            b1.per_second * 1000,
            "1 worker",
            (b1, b2),
        ),
        Row(
            "PostgreSQL: single logs, 2 workers vs 1 (req/s)",
            s2.per_second,
            s1.per_second,
            "1 worker",
            (s1, s2),
        ),
        Row("PostgreSQL: peak server RSS, 2 workers (MiB)", p2, p1, "1 worker", (), p2),
    ]
