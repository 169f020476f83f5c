"""``punchlog demo`` as a newcomer runs it (the printed curl, run as printed), and
``punchlog push`` of CSV and JSONL files against a real server."""

from __future__ import annotations

import csv
import json
import queue
import re
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import pytest

from punchlog.services import devices, employees, keys, tenants
from punchlog.services.employees import EmployeeIn
from punchlog.services.store import Store
from punchlog.settings import Settings
from tests.e2e.conftest import (
    HOST,
    PUNCHLOG,
    READY_TIMEOUT_S,
    Database,
    LiveWorld,
    close_pipes,
    end_process,
    free_port,
    punchlog_env,
    readyz_status,
    run_cli_json,
    run_server,
    scalar,
)
from tests.support.world import DEVICE, local_now

pytestmark = pytest.mark.e2e

KEY_PATTERN = r"plk_[0-9a-z]{10}_[0-9A-Za-z]{38}"


# --------------------------------------------------------------------------------------------
# (a) punchlog demo
# --------------------------------------------------------------------------------------------


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _read_until_curl(lines: queue.Queue[str | None], timeout: float) -> tuple[list[str], str]:
    """Everything printed up to and including the curl command, and the command itself."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    command: list[str] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail("punchlog demo printed no complete curl command:\n" + "".join(seen))
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            pytest.fail("punchlog demo ended before printing a curl command:\n" + "".join(seen))
        seen.append(line)
        if command or line.startswith("curl "):
            command.append(line)
            if not line.rstrip("\n").endswith("\\"):
                return seen, "".join(command).rstrip("\n")


def test_demo_prints_a_curl_that_works_as_printed(tmp_path: Path) -> None:
    db = Database("sqlite", f"sqlite:///{tmp_path / 'demo.db'}", tmp_path / "demo.db")
    port = free_port()
    stderr_path = tmp_path / "demo.stderr"
    lines: queue.Queue[str | None] = queue.Queue()
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [str(PUNCHLOG), "demo", "--port", str(port)],
            env=punchlog_env(db.url),
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
    assert proc.stdout is not None
    reader = threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True)
    reader.start()
    try:
        seen, command = _read_until_curl(lines, READY_TIMEOUT_S)
        printed = "".join(seen)
        ingest = re.search(rf"ingest key:\s+({KEY_PATTERN})", printed)
        assert ingest is not None, printed
        assert f"X-API-Key: {ingest.group(1)}" in command
        assert f"http://{HOST}:{port}/v1/logs" in command

        deadline = time.monotonic() + READY_TIMEOUT_S
        while readyz_status(port, timeout=2.0) != 200:
            assert proc.poll() is None, stderr_path.read_text()
            assert time.monotonic() < deadline, stderr_path.read_text()
            time.sleep(0.1)

        ran = subprocess.run(  # noqa: S602 - the command exactly as the demo printed it
            command,
            shell=True,
            executable="/bin/bash",
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert ran.returncode == 0, (ran.stdout, ran.stderr)
        answer = json.loads(ran.stdout)
        assert answer["succeeded"] is True, answer
        assert answer["data"]["logsReceived"] == 1
        assert answer["data"]["logsAccepted"] == 1
        assert answer["data"]["logsRejected"] == 0
        # The 200 came after a commit: the punch and its request are in the database.
        assert scalar(db, "SELECT count(*) FROM punches WHERE employee_id IS NOT NULL") == 1
        assert scalar(db, "SELECT sum(logs_accepted) FROM ingest_requests") == 1
    finally:
        end_process(proc)
        reader.join(10)
        close_pipes(proc)
    assert not reader.is_alive()


# --------------------------------------------------------------------------------------------
# (b) push a CSV of 2500 logs
# --------------------------------------------------------------------------------------------

N_LOGS = 2500


def _write_csv(path: Path, device: str) -> dict[int, str]:
    """2500 logs (header on line 1, log i on line i + 2); return the bad lines' reasons."""
    now = local_now()
    bad = {
        17: "invalid_status",
        1020: "unknown_device",
        1999: "too_old",
        2001: "invalid_timestamp",
        2498: "in_future",
    }
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["DeviceIdentifier", "EmployeeAttendanceNumber", "Timestamp", "Status"])
        for i in range(N_LOGS):
            row = [
                device,
                ("E1", "E2", "E3", "NEW-9")[i % 4],
                (now - timedelta(hours=2, seconds=20 * i)).isoformat(),
                str(i % 2),
            ]
            reason = bad.get(i)
            if reason == "invalid_status":
                row[3] = "2"
            elif reason == "unknown_device":
                row[0] = "99999999-0000-4000-8000-000000000000"
            elif reason == "too_old":
                row[2] = (now - timedelta(days=45)).isoformat()
            elif reason == "invalid_timestamp":
                row[2] = "03/12/2026 09:00"
            elif reason == "in_future":
                row[2] = (now + timedelta(hours=3)).isoformat()
            writer.writerow(row)
    return {i + 2: reason for i, reason in bad.items()}


def test_push_csv_of_2500_logs_then_again_all_duplicates(
    database: Database, tmp_path: Path
) -> None:
    url = database.url
    store = Store.from_settings(Settings(database_url=url))
    try:
        store.migrate()
        tenants.create_tenant(store, "shop", name="Shop", timezone="Asia/Kolkata")
        device = devices.add_device(store, "shop", name="Door")["identifier"]
        employees.upsert_employees(store, "shop", [EmployeeIn(n, n) for n in ("E1", "E2", "E3")])
        key = keys.issue_key(store, "shop", label="push").key
    finally:
        store.dispose()

    logs = tmp_path / "logs.csv"
    bad_lines = _write_csv(logs, device)
    n_bad = len(bad_lines)
    unmatched = sum(1 for i in range(N_LOGS) if i % 4 == 3 and i + 2 not in bad_lines)

    with run_server(database, tmp_path) as server:
        argv = ["push", str(logs), "--url", server.base_url, "--key", key]
        first = run_cli_json(url, *argv, diagnostics=server.log)
        again = run_cli_json(url, *argv, diagnostics=server.log)

    assert first["batches"] == 3
    assert first["received"] == N_LOGS
    assert first["accepted"] == N_LOGS - n_bad
    assert first["duplicate"] == 0
    assert first["unmatched"] == unmatched
    assert first["rejected"] == n_bad
    assert first["rejectedByReason"] == dict.fromkeys(bad_lines.values(), 1)
    got = {r["line"]: r["reason"] for r in first["rejections"]}
    assert got == bad_lines
    assert all(r["message"] for r in first["rejections"])

    assert again["batches"] == 3
    assert again["received"] == N_LOGS
    assert again["accepted"] == N_LOGS - n_bad
    assert again["duplicate"] == N_LOGS - n_bad
    assert again["unmatched"] == 0
    assert again["rejected"] == n_bad
    assert {r["line"]: r["reason"] for r in again["rejections"]} == bad_lines

    assert scalar(database, "SELECT count(*) FROM punches") == N_LOGS - n_bad
    assert scalar(database, "SELECT count(*) FROM punches WHERE employee_id IS NULL") == unmatched


# --------------------------------------------------------------------------------------------
# (c) push a JSONL file
# --------------------------------------------------------------------------------------------


def test_push_jsonl_file(live: LiveWorld, tmp_path: Path) -> None:
    now = local_now()

    def at(minutes: int) -> str:
        return (now - timedelta(minutes=minutes)).isoformat()

    def rec(number: Any, minutes: int, status: Any = 0, device: str = DEVICE) -> Any:
        return {
            "DeviceIdentifier": device,
            "EmployeeAttendanceNumber": number,
            "Timestamp": at(minutes),
            "Status": status,
        }

    records: list[Any] = [
        rec("E1", 50),  # line 1
        rec("E1", 10, 1),
        "",  # a blank line, skipped
        {"device": DEVICE, "employee": "E2", "time": at(45), "status": "0"},  # aliases
        rec(4711, 40),  # an integer number, registered nowhere: held
        rec("E3", 30, device="not-a-device"),  # line 6
        rec("E9", 20, 1),  # line 7: E9 has left
        rec("E1", 50),  # line 1 again: a duplicate in the same batch
    ]
    path = tmp_path / "logs.jsonl"
    path.write_text("".join((json.dumps(r) if r else "") + "\n" for r in records))

    summary = run_cli_json(
        live.db.url,
        *("push", str(path), "--url", live.base_url, "--key", live.world.ingest_key),
        diagnostics=live.server.log,
    )

    assert summary["batches"] == 1
    assert summary["received"] == 7
    assert summary["accepted"] == 5
    assert summary["duplicate"] == 1
    assert summary["unmatched"] == 1
    assert summary["rejected"] == 2
    assert {r["line"]: r["reason"] for r in summary["rejections"]} == {
        6: "unknown_device",
        7: "employee_inactive",
    }
    assert scalar(live.db, "SELECT count(*) FROM punches") == 4
    assert scalar(live.db, "SELECT employee_number FROM punches WHERE employee_id IS NULL") == (
        "4711"
    )
