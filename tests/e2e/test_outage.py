"""Database outage: PostgreSQL stopped under load, then started again (issue 5, item 2).

A throwaway PostgreSQL cluster of this test's own (never the machine's shared server) backs a
real ``punchlog serve``; a few clients post small batches of distinct, valid logs and record
each answer with its latency. The cluster is stopped under that load (``pg_ctl stop -m fast``,
then in a second outage ``-m immediate``) and started again on the same port and data
directory, while punchlog keeps running. The test checks that

1. while PostgreSQL is down every ``POST /v1/logs`` is answered 503 within a bound, with the
   error envelope and ``Retry-After``; no request sent after the stop completed is answered
   200 while the database is down; nothing but 200 and 503 is ever answered, and every request
   is answered (no hang);
2. ``GET /readyz`` is 503 (envelope, ``Retry-After``) and ``GET /healthz`` 200 meanwhile, and
   the punchlog process stays alive;
3. once PostgreSQL is back, ``/readyz`` and ``POST /v1/logs`` answer 200 again within a bound,
   with no restart of punchlog (same process);
4. every log of every 200-acknowledged request is stored exactly once, and re-sending every
   unacknowledged request until it is acknowledged stores each of its logs exactly once.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.conftest import Database, Server, prepare_world, run_server
from tests.e2e.readback import log_key, nth_log, stored_logs
from tests.support.postgres import (
    PostgresUnavailableError,
    _Cluster,
    _connect,
    _connect_error,
    _describe,
    _log_tail,
    _run,
    _start_cluster,
    _stop_cluster,
    _wait_until_ready,
    create_test_database,
)
from tests.support.world import World

pytestmark = pytest.mark.e2e

CLIENTS = 4
MAX_BATCH = 10
PAUSE_S = 0.03  # between two requests of one client
WARM_UP_S = 1.0  # load with the database up, before each stop
DOWN_S = 3.0  # how long the database stays down
AFTER_RECOVERY_S = 1.0  # load once service is back, before the next stop
ANSWER_BOUND_S = 15.0  # every request is answered within this (connect timeout: 10 s)
RECOVERY_BOUND_S = 30.0  # service is back this long after PostgreSQL is
CLIENT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)  # beyond the bound: a hang is *measured*
STOP_MODES = ("fast", "immediate")
SERVER_ENV = {
    "PUNCHLOG_STATEMENT_TIMEOUT_SECONDS": "2",
    "PUNCHLOG_POOL_TIMEOUT_SECONDS": "2",
    "PUNCHLOG_RATE_LIMIT_PER_SECOND": "0",
    "PUNCHLOG_RECOMPUTE_INTERVAL_SECONDS": "0",
}

Batch = list[dict[str, Any]]


# --------------------------------------------------------------------------------------------
# The throwaway cluster: started, stopped and started again
# --------------------------------------------------------------------------------------------


@pytest.fixture
def cluster() -> Iterator[_Cluster]:
    """A PostgreSQL cluster of this test's own; never skipped: no cluster is a failure."""
    try:
        started = _start_cluster()
    except PostgresUnavailableError as exc:
        pytest.fail(f"cannot start a throwaway PostgreSQL cluster for the outage test: {exc}")
    try:
        _durable_commits(started)
        yield started
    finally:
        _stop_cluster(started)


def _durable_commits(cluster: _Cluster) -> None:
    """The throwaway cluster is configured for speed (``synchronous_commit = off``: a commit
    is confirmed before its WAL is written, so ``pg_ctl stop -m immediate`` would lose the
    last ones). It stays so: punchlog sets ``synchronous_commit=on`` on its own connections
    (storage.database), and this test proves that enough. ``fsync = off`` stays too: only an
    OS crash would tell."""
    with _connect(cluster.admin_url) as conn:
        row = conn.execute("SHOW synchronous_commit").fetchone()
    assert row is not None
    assert row[0] == "off", "the cluster must not hide what punchlog's own setting does"


def _pg_ctl(cluster: _Cluster, *args: str) -> None:
    proc = _run(
        [str(cluster.bindir / "pg_ctl"), "-D", str(cluster.data_dir), *args],
        cwd=cluster.base_dir,
        timeout=60,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"pg_ctl {' '.join(args)} failed ({_describe(proc)})\nserver log:\n{_log_tail(cluster)}"
        )


def stop_postgres(cluster: _Cluster, mode: str) -> None:
    """Stop the cluster (``-m fast``: sessions are terminated; ``immediate``: no shutdown at
    all, crash recovery at the next start) and make sure nothing answers any more."""
    _pg_ctl(cluster, "-m", mode, "-w", "-t", "30", "stop")
    assert _connect_error(cluster.admin_url) is not None, "PostgreSQL still answers after stop"


def start_postgres(cluster: _Cluster) -> None:
    """Start the cluster again on the same port and data directory, and wait until it
    answers."""
    _pg_ctl(
        cluster,
        "-l",
        str(cluster.log_file),
        "-o",
        f"-p {cluster.port}",
        "-w",
        "-t",
        "30",
        "start",
    )
    error = _wait_until_ready(cluster.admin_url, time.monotonic() + 30)
    if error is not None:
        pytest.fail(f"PostgreSQL restarted but does not answer: {error}\n{_log_tail(cluster)}")


# --------------------------------------------------------------------------------------------
# The load: every request with its answer and timing
# --------------------------------------------------------------------------------------------


@dataclass
class Sent:
    batch: Batch
    sent: float  # time.monotonic() before sending
    done: float  # ... after the answer (or the transport error)
    status: int | None  # None: no HTTP answer at all
    headers: dict[str, str]
    body: bytes
    error: str = ""

    @property
    def latency(self) -> float:
        return self.done - self.sent


@dataclass
class Ledger:
    requests: list[Sent] = field(default_factory=list)
    next_log: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fresh_batch(self, size: int) -> Batch:
        with self.lock:
            first, self.next_log = self.next_log, self.next_log + size
        return [nth_log(n) for n in range(first, first + size)]

    def record(self, sent: Sent) -> None:
        with self.lock:
            self.requests.append(sent)

    def snapshot(self) -> list[Sent]:
        with self.lock:
            return list(self.requests)


def _post(http: httpx.Client, server: Server, world: World, batch: Batch) -> Sent:
    start = time.monotonic()
    try:
        response = http.post(
            f"{server.base_url}/v1/logs",
            content=orjson.dumps(batch),
            headers={"Content-Type": "application/json", "X-API-Key": world.ingest_key},
        )
    except httpx.TransportError as exc:
        return Sent(batch, start, time.monotonic(), None, {}, b"", f"{type(exc).__name__}: {exc}")
    return Sent(
        batch,
        start,
        time.monotonic(),
        response.status_code,
        {k.lower(): v for k, v in response.headers.items()},
        response.content,
    )


def _start_load(
    server: Server, world: World, ledger: Ledger, stop: threading.Event
) -> list[threading.Thread]:
    def client(number: int) -> None:
        size = 1 + number
        with httpx.Client(timeout=CLIENT_TIMEOUT) as http:
            while not stop.is_set():
                size = size % MAX_BATCH + 1  # 1..MAX_BATCH, a different phase per client
                ledger.record(_post(http, server, world, ledger.fresh_batch(size)))
                time.sleep(PAUSE_S)

    threads = [
        threading.Thread(target=client, args=(n,), name=f"load-{n}", daemon=True)
        for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    return threads


# --------------------------------------------------------------------------------------------
# What an answer must look like
# --------------------------------------------------------------------------------------------


def _envelope_problems(status: int | None, headers: dict[str, str], body: bytes) -> list[str]:
    """Why a 503 is not the documented one: error envelope and ``Retry-After: 1``."""
    problems = []
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return [f"{status}: body is not JSON: {body[:200]!r}"]
    if not (
        isinstance(payload, dict)
        and payload.get("succeeded") is False
        and isinstance(payload.get("errors"), list)
        and payload["errors"]
        and all(isinstance(m, str) and m for m in payload["errors"])
        and set(payload) == {"errors", "succeeded"}
    ):
        problems.append(f"{status}: not the error envelope: {body[:200]!r}")
    if headers.get("retry-after") != "1":
        problems.append(f"{status}: Retry-After is {headers.get('retry-after')!r}, not '1'")
    return problems


def _answer_problems(r: Sent) -> list[str]:
    """Problems with one answer, whenever it was sent: it came, in time, and is a correct
    200 or a correct 503."""
    if r.status is None:
        return [f"no answer after {r.latency:.1f} s: {r.error}"]
    problems = []
    if r.latency >= ANSWER_BOUND_S:
        problems.append(f"{r.status} after {r.latency:.1f} s (bound {ANSWER_BOUND_S:.0f} s)")
    if r.status == 200:
        data = orjson.loads(r.body)["data"]
        if not (
            data["logsReceived"] == data["logsAccepted"] == len(r.batch)
            and data["logsRejected"] == 0
        ):
            problems.append(f"200 that did not accept all {len(r.batch)} logs: {data}")
    elif r.status == 503:
        problems += _envelope_problems(r.status, r.headers, r.body)
    else:
        problems.append(f"status {r.status} (only 200 or 503 may be answered): {r.body[:200]!r}")
    return problems


# --------------------------------------------------------------------------------------------
# Probes and the stored punches
# --------------------------------------------------------------------------------------------


@dataclass
class Probe:
    status: int
    headers: dict[str, str]
    body: bytes
    latency: float


def _probe(http: httpx.Client, server: Server, path: str) -> Probe:
    start = time.monotonic()
    response = http.get(f"{server.base_url}{path}")
    return Probe(
        response.status_code,
        {k.lower(): v for k, v in response.headers.items()},
        response.content,
        time.monotonic() - start,
    )


# --------------------------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------------------------


@dataclass
class Outage:
    mode: str
    stop_begin: float = 0.0
    stop_done: float = 0.0
    start_begin: float = 0.0
    start_done: float = 0.0
    ready: float = 0.0  # first GET /readyz 200 after the start
    first_ok: float = 0.0  # first POST sent after the start and answered 200: its answer time
    readyz: list[Probe] = field(default_factory=list)
    healthz: list[Probe] = field(default_factory=list)


def _wait_for_post_200(ledger: Ledger, since: float, server: Server) -> float:
    """When the first POST sent at or after ``since`` was answered 200 (bounded wait)."""
    deadline = time.monotonic() + RECOVERY_BOUND_S
    while time.monotonic() < deadline:
        oks = [r.done for r in ledger.snapshot() if r.sent >= since and r.status == 200]
        if oks:
            return min(oks)
        assert server.proc.poll() is None, f"punchlog exited {server.proc.returncode}"
        time.sleep(0.05)
    recent = [(r.status, r.body[:120]) for r in ledger.snapshot() if r.sent >= since][-5:]
    pytest.fail(
        f"POST /v1/logs not answered 200 within {RECOVERY_BOUND_S:.0f} s after PostgreSQL "
        f"was back: last answers {recent}\n{server.log()[-3000:]}"
    )


def _when(r: Sent, outages: list[Outage]) -> str:
    """Where a request falls relative to the outages (for failure messages)."""
    parts = []
    for o in outages:
        parts.append(
            f"{o.mode}: sent {r.sent - o.stop_begin:+.3f} s / answered {r.done - o.stop_begin:+.3f}"
            f" s from stop begin (stop took {o.stop_done - o.stop_begin:.3f} s)"
        )
    return "; ".join(parts)


def _outage(cluster: _Cluster, server: Server, ledger: Ledger, mode: str) -> Outage:
    """One outage under load: stop PostgreSQL, probe while it is down, start it again and
    wait (bounded) for service to come back by itself."""
    outage = Outage(mode)
    with httpx.Client(timeout=httpx.Timeout(ANSWER_BOUND_S + 5, connect=5.0)) as http:
        time.sleep(WARM_UP_S)
        outage.stop_begin = time.monotonic()
        stop_postgres(cluster, mode)
        outage.stop_done = time.monotonic()

        while time.monotonic() - outage.stop_done < DOWN_S:
            outage.readyz.append(_probe(http, server, "/readyz"))
            outage.healthz.append(_probe(http, server, "/healthz"))
            assert server.proc.poll() is None, f"punchlog exited {server.proc.returncode}"
            time.sleep(0.2)

        outage.start_begin = time.monotonic()
        start_postgres(cluster)
        outage.start_done = time.monotonic()

        while True:
            probe = _probe(http, server, "/readyz")
            if probe.status == 200:
                outage.ready = time.monotonic()
                break
            if time.monotonic() - outage.start_done > RECOVERY_BOUND_S:
                pytest.fail(
                    f"GET /readyz still {probe.status} {RECOVERY_BOUND_S:.0f} s after "
                    f"PostgreSQL was back: {probe.body[:200]!r}\n{server.log()[-3000:]}"
                )
            time.sleep(0.1)
    outage.first_ok = _wait_for_post_200(ledger, outage.start_done, server)
    time.sleep(AFTER_RECOVERY_S)
    return outage


def test_postgres_outage_under_load_answers_503_then_recovers_by_itself(
    cluster: _Cluster, tmp_path: Path
) -> None:
    url = create_test_database(cluster.admin_url, f"punchlog_outage_{uuid.uuid4().hex[:8]}")
    database = Database("postgresql", url)
    world = prepare_world(database)
    ledger = Ledger()
    outages: list[Outage] = []
    stop = threading.Event()

    with run_server(database, tmp_path, **SERVER_ENV) as server:
        threads = _start_load(server, world, ledger, stop)
        try:
            for mode in STOP_MODES:
                outages.append(_outage(cluster, server, ledger, mode))
        finally:
            stop.set()
            for thread in threads:
                thread.join(40.0)
        assert not any(t.is_alive() for t in threads), "a client never got an answer"
        # The process started before the first outage still runs: it was never restarted.
        assert server.proc.poll() is None, f"punchlog exited {server.proc.returncode}"

        requests = ledger.snapshot()
        # 1. Every answer came in time and is a correct 200 or a correct 503.
        problems = [p for r in requests for p in _answer_problems(r)]
        assert not problems, f"{len(problems)} bad answers, e.g. {problems[:5]}"

        # Before the first stop the database was up: all 200 (else the load proves nothing).
        before = [r for r in requests if r.done < outages[0].stop_begin]
        assert before, "no request answered before the first stop"
        assert all(r.status == 200 for r in before), Counter(r.status for r in before)

        for outage, following in zip(outages, [*outages[1:], None], strict=True):
            # 2. Sent after the stop completed, answered before the start began: the database
            # was down for the whole request, so nothing can have been stored: 503 only.
            down = [
                r for r in requests if r.sent >= outage.stop_done and r.done <= outage.start_begin
            ]
            assert len(down) >= CLIENTS, f"{outage.mode}: only {len(down)} requests while down"
            statuses = Counter(r.status for r in down)
            assert statuses == Counter({503: len(down)}), (
                f"{outage.mode}: while PostgreSQL was down: {statuses}"
            )
            # ... and /readyz said not ready (envelope, Retry-After), /healthz alive.
            assert outage.readyz, "no /readyz probe while down"
            bad_ready = [
                (p.status, p.body[:120], p.headers.get("retry-after"))
                for p in outage.readyz
                if p.status != 503 or _envelope_problems(p.status, p.headers, p.body)
            ]
            assert not bad_ready, f"{outage.mode}: /readyz while down: {bad_ready[:3]}"
            assert all(p.latency < ANSWER_BOUND_S for p in outage.readyz), [
                round(p.latency, 2) for p in outage.readyz
            ]
            bad_health = [(p.status, p.body[:120]) for p in outage.healthz if p.status != 200]
            assert not bad_health, f"{outage.mode}: /healthz while down: {bad_health[:3]}"
            assert all(orjson.loads(p.body)["status"] == "ok" for p in outage.healthz)

            # 3. Back by itself: once /readyz says ready, every POST sent is acknowledged
            # (until the next stop).
            end = following.stop_begin if following else float("inf")
            after = [r for r in requests if outage.ready <= r.sent and r.done < end]
            assert after, f"{outage.mode}: no request after recovery"
            statuses = Counter(r.status for r in after)
            assert statuses == Counter({200: len(after)}), (
                f"{outage.mode}: after /readyz was 200 again: {statuses}"
            )

        # 4. Exactly once: every acknowledged log is stored once ...
        acked = [r for r in requests if r.status == 200]
        unacked = [r.batch for r in requests if r.status != 200]
        assert unacked, "no request went unacknowledged: the outage hit nothing"
        stored = stored_logs(server, world)
        missing = [
            (log_key(item), _when(r, outages))
            for r in acked
            for item in r.batch
            if stored[log_key(item)] != 1
        ]
        assert not missing, (
            f"{len(missing)} acknowledged logs not stored exactly once: "
            f"{[(key, stored[key], when) for key, when in missing[:5]]}"
        )

        # ... and re-sending each unacknowledged request until it is acknowledged stores each
        # of its logs exactly once (some may have been committed before their 503).
        with httpx.Client(timeout=CLIENT_TIMEOUT) as http:
            for batch in unacked:
                for _attempt in range(20):
                    retry = _post(http, server, world, batch)
                    if retry.status == 200:
                        assert not _answer_problems(retry), _answer_problems(retry)
                        break
                    time.sleep(0.2)
                else:
                    pytest.fail(f"a re-sent request was never acknowledged: {retry}")
        stored = stored_logs(server, world)

    sent = Counter(log_key(item) for r in requests for item in r.batch)
    assert all(count == 1 for count in sent.values())  # the test's own logs are distinct
    assert stored == sent, (
        f"stored {sum(stored.values())} punches for {len(sent)} logs sent; "
        f"extra: {list((stored - sent).items())[:5]}, missing: {list((sent - stored).items())[:5]}"
    )

    for outage in outages:
        latencies = [
            r.latency
            for r in requests
            if r.sent >= outage.stop_done and r.done <= outage.start_begin
        ]
        print(
            f"\noutage (pg_ctl stop -m {outage.mode}): stop took "
            f"{outage.stop_done - outage.stop_begin:.2f} s, {len(latencies)} POSTs while down: "
            f"503 in median {statistics.median(latencies) * 1000:.0f} ms, max "
            f"{max(latencies) * 1000:.0f} ms; /readyz 503 in max "
            f"{max(p.latency for p in outage.readyz) * 1000:.0f} ms; start took "
            f"{outage.start_done - outage.start_begin:.2f} s; after it: /readyz 200 in "
            f"{outage.ready - outage.start_done:.2f} s, first POST 200 in "
            f"{outage.first_ok - outage.start_done:.2f} s"
        )
    print(
        f"{len(requests)} requests: {Counter(r.status for r in requests)}; "
        f"max latency {max(r.latency for r in requests):.2f} s; "
        f"{sum(len(r.batch) for r in acked)} acknowledged logs checked, "
        f"{len(unacked)} requests re-sent; {len(sent)} logs stored exactly once"
    )
