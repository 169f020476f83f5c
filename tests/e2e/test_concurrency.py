"""Exactly-once under real concurrency: several server processes on one PostgreSQL database,
many clients sending the same logs at the same time."""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.conftest import Database, Server, prepare_world, run_server, scalar
from tests.support.world import World, local_now, log

pytestmark = pytest.mark.e2e

LOGS = 300
BATCH = 50
THREADS = 6
NUMBERS = ("E1", "E2", "E3", "U-77")  # U-77 is registered nowhere: held as unmatched
UNMATCHED = LOGS // len(NUMBERS)


def the_logs() -> list[dict[str, Any]]:
    """300 distinct logs (distinct natural keys), the last few hours, a quarter unmatched."""
    base = local_now() - timedelta(minutes=5)
    return [
        log(NUMBERS[i % len(NUMBERS)], at=base - timedelta(minutes=i), status=(i // 4) % 2)
        for i in range(LOGS)
    ]


def hammer(servers: Sequence[Server], world: World) -> list[tuple[int, Any]]:
    """THREADS threads, each sending all LOGS in its own shuffled order, in batches of BATCH,
    alternating between ``servers``; all start together. Returns (status, body) per request."""
    logs = the_logs()
    barrier = threading.Barrier(THREADS, timeout=30)
    results: list[tuple[int, Any]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        order = list(logs)
        random.Random(number).shuffle(order)
        batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
        headers = {"Content-Type": "application/json", "X-API-Key": world.ingest_key}
        try:
            with httpx.Client(timeout=30.0) as http:
                barrier.wait()
                for j, batch in enumerate(batches):
                    server = servers[(number + j) % len(servers)]
                    response = http.post(
                        f"{server.base_url}/v1/logs", content=orjson.dumps(batch), headers=headers
                    )
                    try:
                        body: Any = orjson.loads(response.content)
                    except orjson.JSONDecodeError:
                        body = response.text
                    with lock:
                        results.append((response.status_code, body))
        except BaseException as exc:
            with lock:
                errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "a client thread hung"
    assert not errors, errors
    return results


def assert_exactly_once(db: Database, results: list[tuple[int, Any]]) -> None:
    assert len(results) == THREADS * LOGS // BATCH
    failed = [(status, body) for status, body in results if status != 200]
    assert not failed, failed[:5]
    data = [body["data"] for _, body in results]
    assert all(body["succeeded"] is True for _, body in results)
    assert sum(d["logsReceived"] for d in data) == THREADS * LOGS
    assert sum(d["logsRejected"] for d in data) == 0
    assert all(d["logsAccepted"] == d["logsReceived"] == BATCH for d in data)
    # Each distinct log was new (or newly held) in exactly one response, a duplicate elsewhere.
    assert sum(d["logsAccepted"] - d["logsDuplicate"] for d in data) == LOGS
    assert sum(d["logsUnmatched"] for d in data) == UNMATCHED
    assert sum(d["logsDuplicate"] for d in data) == (THREADS - 1) * LOGS

    assert scalar(db, "SELECT count(*) FROM punches") == LOGS
    distinct = scalar(
        db,
        "SELECT count(*) FROM (SELECT DISTINCT tenant_id, punched_at, employee_number,"
        " device_id, status FROM punches) AS k",
    )
    assert distinct == LOGS
    assert scalar(db, "SELECT count(*) FROM punches WHERE employee_id IS NULL") == UNMATCHED
    assert scalar(db, "SELECT count(*) FROM rejected_logs") == 0


def test_two_server_processes_on_one_database_store_each_log_once(
    pg_database: Database, tmp_path: Path
) -> None:
    world = prepare_world(pg_database)
    with (
        run_server(pg_database, tmp_path) as first,
        run_server(pg_database, tmp_path) as second,
    ):
        assert first.port != second.port
        assert first.proc.pid != second.proc.pid
        results = hammer([first, second], world)
        assert first.proc.poll() is None
        assert second.proc.poll() is None
    assert_exactly_once(pg_database, results)


def _wait_for_workers(server: Server, count: int, timeout: float = 30.0) -> set[str]:
    deadline = time.monotonic() + timeout
    while True:
        pids = set(re.findall(r"Started server process \[(\d+)\]", server.log()))
        if len(pids) >= count or time.monotonic() > deadline:
            return pids
        time.sleep(0.1)


def test_one_server_with_two_workers_stores_each_log_once(
    pg_database: Database, tmp_path: Path
) -> None:
    world = prepare_world(pg_database)
    with run_server(pg_database, tmp_path, "--workers", "2") as server:
        workers = _wait_for_workers(server, 2)
        assert len(workers) == 2, server.log()
        assert str(server.proc.pid) not in workers  # a supervisor and two worker processes
        results = hammer([server], world)
        assert server.proc.poll() is None
    assert_exactly_once(pg_database, results)
