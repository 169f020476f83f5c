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

import itertools
import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
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


# Each run of wrk gets a day of its own (logs/s would otherwise count a later round's logs
# that repeat an earlier round's on the same server: the duplicate path, not inserts). A
# thread's logs span 12 h, room for 43 million logs per run.
_DAYS = itertools.count()
_DAYS_IN_WINDOW = 28


def fresh_base() -> int:
    """The first log's epoch for the next run of wrk: a day no earlier run used (wrapping
    after four weeks of runs, far more than one server sees in a benchmark)."""
    return base_epoch() + (next(_DAYS) % _DAYS_IN_WINDOW) * 86_400


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
        str(fresh_base()),
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


class Floor:
    """The in-process floor: the same stream parsed with orjson and appended with one
    ``executemany`` per 1000-log batch into a table whose unique index is the natural key,
    WAL, synchronous=FULL, no HTTP. Kept open between rounds (its table grows as ours does)."""

    def __init__(self, folder: Path) -> None:
        self.conn = sqlite3.connect(folder / "floor.db", isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)
        self.base = base_epoch()
        self.n = 0

    def body(self) -> bytes:
        """The next 1000-log request body, as wrk's bench/logs.lua makes it for our server."""
        stamp = datetime.fromtimestamp(self.base + self.n // 1000, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )
        status = (self.n // 1000) % 2
        items = [
            {
                "DeviceIdentifier": DEVICES[n % 2],
                "EmployeeAttendanceNumber": f"E{n % 1000:04d}",
                "Timestamp": stamp,
                "Status": status,
            }
            for n in range(self.n, self.n + 1000)
        ]
        self.n += 1000
        return orjson.dumps(items)

    def run(self, seconds: float) -> tuple[Load, float]:
        """One round; the load counts 1000-log batches, as wrk counts batch requests.

        Only storing is timed: parsing the body, the ``executemany`` and the commit. The bodies
        are made before the clock runs (for our server wrk makes them, in another process), so
        the floor is the database's cost and nothing else."""
        batches = 0
        timed = 0.0
        while timed < seconds:
            bodies = [self.body() for _ in range(20)]
            for body in bodies:
                started = time.perf_counter()
                rows = [
                    (
                        i["DeviceIdentifier"],
                        i["EmployeeAttendanceNumber"],
                        i["Timestamp"],
                        i["Status"],
                    )
                    for i in orjson.loads(body)
                ]
                self.conn.execute("BEGIN IMMEDIATE")
                self.conn.executemany(INSERT, rows)
                self.conn.execute("COMMIT")
                timed += time.perf_counter() - started
                batches += 1
        return Load(batches, 0, 0, 0, timed), 0.0

    def close(self) -> None:
        self.conn.close()


@dataclass(frozen=True)
class Target:
    """A server under load: where it listens, the key to use, its pid (for RSS)."""

    port: int
    key: str
    pid: int

    def drive(self, batch: int, connections: int, seconds: int) -> tuple[Load, float]:
        return drive(self.port, self.key, batch, connections, seconds, self.pid)


@contextmanager
def punchlog_server(
    url: str, env: dict[str, str], folder: Path, workers: int = 1
) -> Iterator[Target]:
    """``punchlog serve`` on a fresh database at ``url`` (tenant, devices, employees, key)."""
    key = prepare(url)
    port = _free_port()
    argv = [str(BIN / "punchlog"), "serve", "--port", str(port)]
    if workers > 1:
        argv += ["--workers", str(workers)]
    log = folder / f"server-{uuid.uuid4().hex[:6]}.log"
    with server(argv, {**env, "PUNCHLOG_DATABASE_URL": url}, port, log) as proc:
        yield Target(port, key, proc.pid)


@contextmanager
def naive_server(env: dict[str, str], folder: Path) -> Iterator[Target]:
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
        "PUNCHLOG_NAIVE_DB": str(folder / f"naive-{uuid.uuid4().hex[:6]}.db"),
        "PYTHONPATH": str(HERE.parent),
    }
    with server(argv, naive_env, port) as proc:
        yield Target(port, "-", proc.pid)  # the peer checks no key


@contextmanager
def noop_server(env: dict[str, str]) -> Iterator[Target]:
    """bench/noop.py: answers at once; what wrk can drive here (the load generator's ceiling)."""
    port = _free_port()
    argv = [str(BIN / "uvicorn"), "bench.noop:app", "--port", str(port), "--log-level", "warning"]
    with server(argv, {**env, "PYTHONPATH": str(HERE.parent)}, port) as proc:
        yield Target(port, "-", proc.pid)


@dataclass(frozen=True)
class Row:
    """One line of the table: ours beside its floor or peer, measured in alternating rounds
    (ours, theirs, ours, theirs, ...) so that the machine's drift falls on both."""

    figure: str
    ours: list[Load]
    theirs: list[Load]
    other_name: str
    per_request: int = 1  # logs per request: 1000 for batches
    rss_by_round: tuple[float, ...] = ()  # our server's peak RSS in each round, MiB

    @property
    def peak_rss_mib(self) -> float:
        return max(self.rss_by_round, default=0.0)

    @staticmethod
    def rate(loads: list[Load], per_request: int) -> float:
        seconds = sum(load.seconds for load in loads)
        return sum(load.requests for load in loads) * per_request / seconds if seconds else 0.0

    @property
    def our_rate(self) -> float:
        return self.rate(self.ours, self.per_request)

    @property
    def their_rate(self) -> float:
        return self.rate(self.theirs, self.per_request)

    @property
    def ratio(self) -> float:
        return self.our_rate / self.their_rate if self.their_rate else 0.0

    @property
    def round_ratios(self) -> list[float]:
        if len(self.ours) != len(self.theirs):
            return []
        return [
            (o.per_second / t.per_second) if t.per_second else 0.0
            for o, t in zip(self.ours, self.theirs, strict=True)
        ]

    @property
    def failed(self) -> int:
        return sum(load.failed for load in [*self.ours, *self.theirs])

    @property
    def errors(self) -> int:
        return sum(load.errors for load in [*self.ours, *self.theirs])


Leg = Callable[[], tuple[Load, float]]


def alternate(
    rounds: int, ours: Leg, theirs: Leg
) -> tuple[list[Load], list[Load], tuple[float, ...]]:
    """``rounds`` rounds of ours then theirs; the loads of each, and our peak RSS by round
    (it must not grow with the logs stored)."""
    mine: list[Load] = []
    others: list[Load] = []
    peaks: list[float] = []
    for _ in range(rounds):
        load, rss = ours()
        mine.append(load)
        peaks.append(rss)
        others.append(theirs()[0])
    return mine, others, tuple(peaks)


def run(
    seconds: int = 5, *, rounds: int = 3, group_commit: bool = True, postgres: bool = True
) -> list[Row]:
    """Every figure of the table in one run. Each pair (ours and its floor or peer) is
    measured in ``rounds`` alternating rounds of ``seconds`` each, every server on a fresh
    database: SQLite batches vs the floor, SQLite single logs vs the naive peer, then
    PostgreSQL with two workers vs one."""
    folder = WORK / f"ingest-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHLOG_")}
    env.update(
        PUNCHLOG_RATE_LIMIT_PER_SECOND="0",
        PUNCHLOG_RECOMPUTE_INTERVAL_SECONDS="0",
        PUNCHLOG_LOG_LEVEL="warning",
        PUNCHLOG_GROUP_COMMIT=str(group_commit).lower(),
    )
    rows: list[Row] = []
    try:
        floor = Floor(folder)
        try:
            with punchlog_server(f"sqlite:///{folder / 'batches.db'}", env, folder) as ours:
                mine, others, peak = alternate(
                    rounds, lambda: ours.drive(1000, 4, seconds), lambda: floor.run(seconds)
                )
        finally:
            floor.close()
        rows.append(
            Row("SQLite: 1000-log batches, 4 conns (logs/s)", mine, others, "floor", 1000, peak)
        )
        with (
            punchlog_server(f"sqlite:///{folder / 'singles.db'}", env, folder) as ours,
            naive_server(env, folder) as naive,
        ):
            mine, others, peak = alternate(
                rounds, lambda: ours.drive(1, 32, seconds), lambda: naive.drive(1, 32, seconds)
            )
        rows.append(Row("SQLite: single logs, 32 conns (req/s)", mine, others, "naive", 1, peak))
        with noop_server(env) as noop:
            ceiling, _ = noop.drive(1, 32, seconds)
        rows.append(
            Row("load generator: wrk vs a no-op server (req/s)", [ceiling], mine, "punchlog")
        )
        if postgres:
            rows += _postgres_rows(env, folder, seconds, rounds)
        return rows
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def _postgres_rows(env: dict[str, str], folder: Path, seconds: int, rounds: int) -> list[Row]:
    """The same loads on PostgreSQL: two workers against one, in alternating rounds."""
    from bench.databases import fresh_database

    rows: list[Row] = []
    for figure, batch, connections in (
        ("PostgreSQL: batches, 2 workers vs 1 (logs/s)", 1000, 4),
        ("PostgreSQL: single logs, 2 workers vs 1 (req/s)", 1, 32),
    ):
        tag = uuid.uuid4().hex[:6]
        with (
            fresh_database("postgresql", f"ingest_two_{tag}") as url2,
            fresh_database("postgresql", f"ingest_one_{tag}") as url1,
            punchlog_server(url2, env, folder, workers=2) as two,
            punchlog_server(url1, env, folder, workers=1) as one,
        ):
            mine, others, peak = alternate(
                rounds,
                partial(two.drive, batch, connections, seconds),
                partial(one.drive, batch, connections, seconds),
            )
        rows.append(Row(figure, mine, others, "1 worker", batch, peak))
    return rows
