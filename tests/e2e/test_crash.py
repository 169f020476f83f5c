"""Crash durability: SIGKILL the real server under concurrent load, again and again; nothing
it acknowledged is missing and nothing is stored twice (issue 5, item 1).

Each cycle starts ``punchlog serve``, lets several clients post small batches of fresh logs,
and kills the server's whole process group with SIGKILL at a random moment. A request
answered 200 is *acknowledged*; any other outcome (reset, refused, 5xx) is not. After the
last kill the server is started once more and

1. every log of every acknowledged request is read back through ``GET /v1/punches``;
2. every unacknowledged request is sent again until it is acknowledged;
3. then every log sent is stored exactly once (one punch per natural key, no others).

``make test`` runs a few kills per database; ``make soak`` runs many (``SOAK_KILLS``).
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.conftest import Database, Server, prepare_world, run_server
from tests.e2e.readback import log_key, nth_log, stored_logs
from tests.support.world import World

pytestmark = pytest.mark.e2e

KILLS = int(os.environ.get("SOAK_KILLS", "3"))
CLIENTS = 6
MAX_BATCH = 20
SEED = 20261204


@dataclass
class Ledger:
    """Every request sent, by outcome; logs are numbered so that each is distinct."""

    acked: list[list[dict[str, Any]]] = field(default_factory=list)
    unacked: list[list[dict[str, Any]]] = field(default_factory=list)
    next_log: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fresh_batch(self, rng: random.Random) -> list[dict[str, Any]]:
        size = rng.randint(1, MAX_BATCH)
        with self.lock:
            first, self.next_log = self.next_log, self.next_log + size
        return [nth_log(n) for n in range(first, first + size)]

    def record(self, batch: list[dict[str, Any]], acknowledged: bool) -> None:
        with self.lock:
            (self.acked if acknowledged else self.unacked).append(batch)


def _post(http: httpx.Client, server: Server, world: World, batch: list[dict[str, Any]]) -> Any:
    response = http.post(
        f"{server.base_url}/v1/logs",
        content=orjson.dumps(batch),
        headers={"Content-Type": "application/json", "X-API-Key": world.ingest_key},
    )
    return response.status_code, response.content


def _acknowledged(status: int, content: bytes, batch: list[dict[str, Any]]) -> bool:
    """A 200 that accepted every log of the batch; anything else is not an acknowledgement
    (and a 4xx would be a bug: these logs are all valid)."""
    if status != 200:
        assert status >= 500, (status, content[:300])  # only the crash may fail a request
        return False
    data = orjson.loads(content)["data"]
    assert data["logsReceived"] == data["logsAccepted"] == len(batch), data
    assert data["logsRejected"] == 0, data
    return True


def _load(
    server: Server, world: World, ledger: Ledger, stop: threading.Event, problems: list[str]
) -> list[threading.Thread]:
    """CLIENTS threads posting fresh batches until ``stop``; unexpected errors go to
    ``problems``."""

    def client(number: int) -> None:
        rng = random.Random(SEED * 100 + number + ledger.next_log)
        with httpx.Client(timeout=httpx.Timeout(10.0, connect=2.0)) as http:
            while not stop.is_set():
                batch = ledger.fresh_batch(rng)
                try:
                    status, content = _post(http, server, world, batch)
                    ledger.record(batch, _acknowledged(status, content, batch))
                except httpx.TransportError:  # reset, refused, timed out: not acknowledged
                    ledger.record(batch, False)
                    time.sleep(0.02)
                except AssertionError as exc:
                    ledger.record(batch, False)
                    problems.append(str(exc))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    return threads


def _kill(server: Server) -> None:
    os.killpg(server.proc.pid, signal.SIGKILL)  # the server and any workers, no goodbyes
    server.proc.wait(timeout=30)


def test_sigkill_under_load_loses_nothing_acknowledged_and_stores_each_log_once(
    database: Database, tmp_path: Path
) -> None:
    _crash_cycles(database, tmp_path, workers=1)


def test_sigkill_of_two_workers_on_postgresql_loses_nothing_and_doubles_nothing(
    pg_database: Database, tmp_path: Path
) -> None:
    _crash_cycles(pg_database, tmp_path, workers=2)


def _crash_cycles(database: Database, tmp_path: Path, *, workers: int) -> None:
    world = prepare_world(database)
    rng = random.Random(SEED)
    ledger = Ledger()
    problems: list[str] = []
    args = ("--workers", str(workers)) if workers > 1 else ()
    env = {"PUNCHLOG_RATE_LIMIT_PER_SECOND": "0", "PUNCHLOG_RECOMPUTE_INTERVAL_SECONDS": "0"}
    for _ in range(KILLS):
        with run_server(database, tmp_path, *args, **env) as server:
            stop = threading.Event()
            threads = _load(server, world, ledger, stop, problems)
            time.sleep(rng.uniform(0.3, 1.5))
            _kill(server)
            stop.set()
            for thread in threads:
                thread.join(30)
            assert not any(t.is_alive() for t in threads), "a client hung"
    assert not problems, problems[:5]
    assert len(ledger.acked) > 0, "no request was acknowledged: the load never ran"
    assert len(ledger.unacked) > 0, "no request was cut off: the kills hit nothing"

    with run_server(database, tmp_path, *args, **env) as server:
        stored = stored_logs(server, world)
        missing = [
            log_key(item) for batch in ledger.acked for item in batch if stored[log_key(item)] != 1
        ]
        assert not missing, f"{len(missing)} acknowledged logs missing or doubled: {missing[:5]}"

        with httpx.Client(timeout=30.0) as http:
            for batch in ledger.unacked:  # the client's retry: until acknowledged
                for _attempt in range(20):
                    status, content = _post(http, server, world, batch)
                    if _acknowledged(status, content, batch):
                        break
                    time.sleep(0.2)
                else:
                    pytest.fail(f"a retried request was never acknowledged: {content[:300]!r}")
        stored = stored_logs(server, world)

    sent = Counter(log_key(item) for batch in ledger.acked + ledger.unacked for item in batch)
    assert all(count == 1 for count in sent.values())  # the test's own logs are distinct
    print(  # the soak's figures (pytest -s)
        f"\ncrash soak ({database.backend}, {workers} worker(s)): {KILLS} kills survived, "
        f"{sum(len(b) for b in ledger.acked)} acknowledged logs and "
        f"{sum(len(b) for b in ledger.unacked)} cut-off logs checked, "
        f"{len(ledger.unacked)} requests retried"
    )
    assert stored == sent, (
        f"stored {sum(stored.values())} punches for {len(sent)} logs sent; "
        f"extra: {list((stored - sent).items())[:5]}, missing: {list((sent - stored).items())[:5]}"
    )
