"""Operability of the real server: JSON log lines with request ids and no secrets, metrics
added up across workers, and a graceful shutdown that finishes what is in flight."""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.conftest import Database, prepare_world, run_server, scalar
from tests.support.world import log

pytestmark = pytest.mark.e2e


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"a server log line is not JSON: {line!r}")
    return parsed


def test_log_lines_are_json_with_the_request_id_and_no_key(
    database: Database, tmp_path: Path
) -> None:
    world = prepare_world(database)
    with run_server(database, tmp_path, PUNCHLOG_LOG_LEVEL="debug") as server:
        answer = httpx.post(
            f"{server.base_url}/v1/logs",
            json=[log("E1")],
            headers={"X-API-Key": world.ingest_key, "X-Request-Id": "probe-4242"},
        )
        assert answer.status_code == 200
        assert answer.headers["x-request-id"] == "probe-4242"
        time.sleep(0.3)  # the access line is written as the answer goes out
        text = server.log()
    records = _json_lines(text)
    assert {"ts", "level", "logger", "message"} <= set(records[0])
    mine = [r for r in records if r.get("request_id") == "probe-4242"]
    assert mine, text[-2000:]
    assert any(r.get("path") == "/v1/logs" and r.get("status") == 200 for r in mine), mine
    assert world.ingest_key not in text
    assert world.ingest_key.split("_")[2][:8] not in text  # not even part of the secret


def _sample(text: str, name: str, labels: str) -> float:
    match = re.search(rf"^{name}\{{{labels}\}} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_metrics_of_two_workers_are_added_up(pg_database: Database, tmp_path: Path) -> None:
    world = prepare_world(pg_database)
    token = "e2e-metrics-token-0123456789"
    env = {"PUNCHLOG_METRICS_TOKEN": token}
    with run_server(pg_database, tmp_path, "--workers", "2", **env) as server:
        sent = 0
        with httpx.Client(timeout=10) as http:
            for i in range(40):  # new connections: both workers take some
                batch = [log("E1", minutes_ago=30 + i * 3), log("E2", minutes_ago=31 + i * 3)]
                answer = http.post(
                    f"{server.base_url}/v1/logs",
                    json=batch,
                    headers={"X-API-Key": world.ingest_key, "Connection": "close"},
                )
                assert answer.status_code == 200
                sent += len(batch)
            seen = set()
            for _ in range(6):  # whichever worker answers, the sum is the same
                text = http.get(
                    f"{server.base_url}/metrics",
                    headers={"Connection": "close", "Authorization": f"Bearer {token}"},
                ).text
                seen.add(_sample(text, "punchlog_logs_total", 'outcome="new",reason=""'))
        assert seen == {float(sent)}, seen
    assert scalar(pg_database, "SELECT count(*) FROM punches") == sent


def test_sigterm_finishes_the_requests_in_flight_and_exits_cleanly(
    database: Database, tmp_path: Path
) -> None:
    world = prepare_world(database)
    acknowledged: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    with run_server(database, tmp_path) as server:

        def client(number: int) -> None:
            n = 0
            with httpx.Client(timeout=20) as http:
                while not stop.is_set():
                    n += 1
                    batch = [log(f"E{1 + number % 3}", minutes_ago=1 + n * 7 + number)]
                    try:
                        answer = http.post(
                            f"{server.base_url}/v1/logs",
                            content=orjson.dumps(batch),
                            headers={
                                "X-API-Key": world.ingest_key,
                                "Content-Type": "application/json",
                            },
                        )
                    except httpx.TransportError as exc:
                        with lock:
                            failures.append(type(exc).__name__)
                        return
                    with lock:
                        if answer.status_code == 200:
                            acknowledged.append(answer.json()["data"]["logsAccepted"])
                        else:
                            failures.append(str(answer.status_code))
                            return

        threads = [threading.Thread(target=client, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        server.proc.send_signal(signal.SIGTERM)
        code = server.proc.wait(timeout=20)
        stop.set()
        for thread in threads:
            thread.join(20)
        text = server.log()
    # uvicorn re-raises the signal once it has shut down cleanly: killed by SIGTERM, but only
    # after the application's shutdown (the group committer drained and closed) completed.
    assert code in (0, -signal.SIGTERM), text[-2000:]
    assert "Application shutdown complete." in text
    assert "Finished server process" in text
    assert acknowledged, f"no request was answered before the signal: {failures}"
    # After the signal a client may find the door shut (refused, or its idle keep-alive
    # closed), but no answer is ever a 5xx.
    assert not [f for f in failures if f.startswith("5")], failures
    assert scalar(database, "SELECT count(*) FROM punches") >= sum(acknowledged)
