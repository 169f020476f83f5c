"""push_file against a small in-memory fake of the ingestion endpoint (httpx.MockTransport)."""

from __future__ import annotations

import email.utils
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from punchlog.client.push import PushError, Rejection, push_file, read_logs

KEY = "pl_test_key"
DEV = "4f5b878d-7fe4-4b34-8eed-651b3d20c4c2"
KNOWN_EMPLOYEES = {"E1", "E2", "007"}
HEADER = "DeviceIdentifier,EmployeeAttendanceNumber,Timestamp,Status\n"

# A scripted step: None = answer normally, a Response = answer that, an Exception = raise it.
Step = httpx.Response | Exception | None


class FakeServer:
    """Implements the envelope of POST /v1/logs closely enough to test the client."""

    def __init__(self, *, script: list[Step] | None = None, extensions: bool = True) -> None:
        self.script = list(script or [])
        self.extensions = extensions
        self.requests: list[httpx.Request] = []
        self.stored: set[tuple[Any, ...]] = set()
        self.transport = httpx.MockTransport(self.handle)

    @property
    def bodies(self) -> list[list[dict[str, Any]]]:
        return [orjson.loads(r.content) for r in self.requests]

    @property
    def batch_sizes(self) -> list[int]:
        return [len(body) for body in self.bodies]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.script.pop(0) if self.script else None
        if isinstance(step, Exception):
            raise step
        if step is not None:
            return step
        if request.url.path != "/v1/logs":
            return error(404, "Not found")
        if request.headers.get("X-API-Key") != KEY:
            return error(401, "Invalid API key")
        if request.headers.get("Content-Type") != "application/json":
            return error(415, "Content-Type must be application/json")
        logs = orjson.loads(request.content)
        if not isinstance(logs, list) or not logs or len(logs) > 1000:
            return error(400, "Request body must be a JSON array of 1 to 1000 logs")
        return self.ingest(logs)

    def ingest(self, logs: list[dict[str, Any]]) -> httpx.Response:
        accepted = duplicate = unmatched = 0
        rejected: list[dict[str, Any]] = []
        for index, log in enumerate(logs):
            status = log["Status"]
            if status not in (0, 1):
                rejected.append(reject(index, "invalid_status", f"Status {status!r}"))
                continue
            if log["Timestamp"].startswith("2000-"):
                rejected.append(reject(index, "too_old", f"{log['Timestamp']} is too old"))
                continue
            accepted += 1
            natural_key = tuple(log[f] for f in sorted(log))
            if natural_key in self.stored:
                duplicate += 1
                continue
            self.stored.add(natural_key)
            unmatched += log["EmployeeAttendanceNumber"] not in KNOWN_EMPLOYEES
        data: dict[str, Any] = {"logsReceived": len(logs), "logsAccepted": accepted}
        if self.extensions:
            data |= {
                "logsDuplicate": duplicate,
                "logsUnmatched": unmatched,
                "logsRejected": len(rejected),
                "rejected": rejected,
            }
        return httpx.Response(200, json={"data": data, "succeeded": True})


class MaxRng(random.Random):
    """Full jitter always picks the top of the range: the sleeps show the backoff ceiling."""

    def uniform(self, a: float, b: float) -> float:
        return b


class MinRng(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return a


def error(status: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"errors": [message], "succeeded": False}, headers=headers)


def reject(index: int, reason: str, message: str) -> dict[str, Any]:
    return {"index": index, "reason": reason, "message": message}


def log(number: str = "E1", ts: str = "2026-12-03T09:00:00", status: Any = 0) -> dict[str, Any]:
    return {
        "DeviceIdentifier": DEV,
        "EmployeeAttendanceNumber": number,
        "Timestamp": ts,
        "Status": status,
    }


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def many_csv(tmp_path: Path, count: int) -> Path:
    start = datetime(2026, 12, 1, 8, 0, 0)
    rows = [
        f"{DEV},E{i % 2 + 1},{(start + timedelta(seconds=i)).isoformat()},{i % 2}\n"
        for i in range(count)
    ]
    return write(tmp_path, "many.csv", HEADER + "".join(rows))


def run(path: Path, server: FakeServer, sleeps: list[float] | None = None, **kwargs: Any) -> Any:
    kwargs.setdefault("url", "http://punch.test")
    kwargs.setdefault("rng", MaxRng(0))
    recorded = sleeps if sleeps is not None else []
    return push_file(path, key=KEY, transport=server.transport, sleep=recorded.append, **kwargs)


# --- reading files -------------------------------------------------------------------------


def test_csv_is_sent_as_typed_logs_with_headers(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", HEADER + f"{DEV},007,2026-12-03T09:00:00,0\n{DEV},E1,x,1\n")
    server = FakeServer()
    run(path, server)
    assert server.bodies == [[log("007"), log("E1", "x", 1)]]
    request = server.requests[0]
    assert request.headers["X-API-Key"] == KEY
    assert request.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "header",
    [
        "device_identifier,employee_attendance_number,timestamp,status",
        "device,employee,time,status",
        "Device,Number,TIME,Status",
        " Device Identifier , Employee-Attendance-Number ,Timestamp,STATUS",
    ],
)
def test_csv_header_variants(tmp_path: Path, header: str) -> None:
    path = write(tmp_path, "v.csv", f"{header}\n{DEV},E2,2026-12-03T09:00:00,1\n")
    assert [item.log for item in read_logs(path)] == [log("E2", status=1)]


def test_csv_column_order_and_extra_columns_do_not_matter(tmp_path: Path) -> None:
    text = "Status,Location,Timestamp,Employee,Device\n1,Gate,2026-12-03T09:00:00,E2," + DEV
    assert [item.log for item in read_logs(write(tmp_path, "o.csv", text))] == [log("E2", status=1)]


def test_csv_status_other_than_0_1_is_sent_raw_for_the_server_to_judge(tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", HEADER + f"{DEV},E1,t1, 1 \n{DEV},E1,t2,IN\n{DEV},E1,t3,2\n")
    assert [item.log["Status"] for item in read_logs(path)] == [1, "IN", "2"]


def test_csv_blank_lines_and_bom_are_skipped_with_true_line_numbers(tmp_path: Path) -> None:
    text = "\ufeff\n" + HEADER + f"\n{DEV},E1,t1,0\n  \n,,,\n{DEV},E2,t2,1\n\n"
    items = read_logs(write(tmp_path, "b.csv", text))
    assert [(item.line, item.log["EmployeeAttendanceNumber"]) for item in items] == [
        (4, "E1"),
        (7, "E2"),
    ]


def test_jsonl_with_blank_lines_variants_and_integer_numbers(tmp_path: Path) -> None:
    text = (
        orjson.dumps(log("E1")).decode()
        + "\n\n   \n"
        + orjson.dumps({"device": DEV, "number": 7, "time": "t", "status": "1", "x": 1}).decode()
        + "\n"
    )
    items = read_logs(write(tmp_path, "l.jsonl", text))
    assert [item.line for item in items] == [1, 4]
    assert items[0].log == log("E1")
    assert items[1].log == {**log("7", "t", 1), "x": 1}


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("bad.csv", HEADER + f"{DEV},E1,t,0\n\n{DEV},E1,t\n", 4),
        ("bad.csv", HEADER + f"{DEV},E1,t,0,extra\n", 2),
        ("bad.csv", HEADER + f'{DEV},"E1"x,t,0\n', 2),
        ("bad.csv", "DeviceIdentifier,EmployeeAttendanceNumber,Timestamp\nd,e,t\n", 1),
        ("bad.csv", "device,Device,number,time,status\n", 1),
        ("bad.jsonl", '{"Status": 0}\n\n{"Status": 0,\n', 3),
        ("bad.jsonl", '{"Status": 0}\n[1, 2]\n', 2),
        ("bad.jsonl", '"just a string"\n', 1),
        ("bad.jsonl", '{"Status": 0, "status": 1}\n', 1),
        ("bad.jsonl", b'{"Status": 0}\n{"Timestamp": "\xff"}\n', 2),
    ],
)
def test_malformed_line_raises_naming_file_and_line_and_sends_nothing(
    tmp_path: Path, name: str, content: str | bytes, line: int
) -> None:
    path = write(tmp_path, name, content)
    server = FakeServer()
    with pytest.raises(PushError, match=rf"bad\.\w+: line {line}:"):
        run(path, server)
    assert server.requests == []


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", "device,number,time\n")
    with pytest.raises(PushError, match=r"lacks column.*Status"):
        read_logs(path)


def test_missing_file_is_a_push_error(tmp_path: Path) -> None:
    with pytest.raises(PushError, match=r"nope\.csv"):
        read_logs(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("logs.txt", "\n  " + orjson.dumps(log()).decode(), 2),
        ("logs", HEADER + f"{DEV},E1,2026-12-03T09:00:00,0\n", 2),
        ("logs.NDJSON", orjson.dumps(log()).decode(), 1),
        ("logs.json-lines", orjson.dumps(log()).decode(), 1),
        ("logs.jsonl", orjson.dumps(log()).decode(), 1),
    ],
)
def test_format_by_extension_else_sniffed(
    tmp_path: Path, name: str, content: str, line: int
) -> None:
    items = read_logs(write(tmp_path, name, content))
    assert [(item.line, item.log) for item in items] == [(line, log())]


def test_csv_extension_wins_over_content(tmp_path: Path) -> None:
    with pytest.raises(PushError, match="line 1: malformed CSV"):
        read_logs(write(tmp_path, "x.csv", orjson.dumps(log()).decode()))


def test_empty_file_sends_nothing(tmp_path: Path) -> None:
    server = FakeServer()
    progress: list[tuple[int, int]] = []
    summary = run(
        write(tmp_path, "e.csv", HEADER), server, on_progress=lambda d, t: progress.append((d, t))
    )
    assert (summary.batches, summary.received, server.requests, progress) == (0, 0, [], [])


# --- batching, progress, url ----------------------------------------------------------------


def test_2500_logs_go_in_three_batches(tmp_path: Path) -> None:
    server = FakeServer()
    progress: list[tuple[int, int]] = []
    summary = run(
        many_csv(tmp_path, 2500), server, on_progress=lambda d, t: progress.append((d, t))
    )
    assert server.batch_sizes == [1000, 1000, 500]
    assert progress == [(1000, 2500), (2000, 2500), (2500, 2500)]
    assert (summary.batches, summary.received, summary.accepted) == (3, 2500, 2500)


@pytest.mark.parametrize(("batch_size", "sizes"), [(300, [300, 300, 100]), (5000, [700])])
def test_batch_size_is_honoured_and_capped(
    tmp_path: Path, batch_size: int, sizes: list[int]
) -> None:
    server = FakeServer()
    run(many_csv(tmp_path, 700), server, batch_size=batch_size)
    assert server.batch_sizes == sizes


def test_batch_size_above_1000_is_capped(tmp_path: Path) -> None:
    server = FakeServer()
    run(many_csv(tmp_path, 1500), server, batch_size=5000)
    assert server.batch_sizes == [1000, 500]


def test_batch_size_below_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        run(many_csv(tmp_path, 1), FakeServer(), batch_size=0)


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("http://punch.test", "http://punch.test/v1/logs"),
        ("http://punch.test/", "http://punch.test/v1/logs"),
        ("http://punch.test/v1/logs", "http://punch.test/v1/logs"),
        ("https://punch.test/tenant-a", "https://punch.test/tenant-a/v1/logs"),
    ],
)
def test_url_is_normalised_to_the_endpoint(tmp_path: Path, url: str, endpoint: str) -> None:
    server = FakeServer(script=[httpx.Response(200, json={"data": _counts(1), "succeeded": True})])
    run(many_csv(tmp_path, 1), server, url=url)
    assert [str(r.url) for r in server.requests] == [endpoint]


def test_bad_url_is_a_push_error(tmp_path: Path) -> None:
    server = FakeServer()
    with pytest.raises(PushError, match="ftp"):
        run(many_csv(tmp_path, 1), server, url="ftp://punch.test")
    assert server.requests == []


def _counts(n: int) -> dict[str, int]:
    return {"logsReceived": n, "logsAccepted": n}


# --- retries ------------------------------------------------------------------------------------


def test_503_is_retried_with_exponential_backoff(tmp_path: Path) -> None:
    server = FakeServer(script=[error(503, "storage down")] * 2)
    sleeps: list[float] = []
    summary = run(many_csv(tmp_path, 3), server, sleeps)
    assert len(server.requests) == 3
    assert sleeps == [0.5, 1.0]
    assert summary.accepted == 3


def test_backoff_is_capped_at_max_delay(tmp_path: Path) -> None:
    server = FakeServer(script=[error(500, "boom")] * 5)
    sleeps: list[float] = []
    run(many_csv(tmp_path, 1), server, sleeps, max_delay=2.0, max_attempts=6)
    assert sleeps == [0.5, 1.0, 2.0, 2.0, 2.0]


def test_jitter_is_drawn_from_zero_to_the_ceiling(tmp_path: Path) -> None:
    server = FakeServer(script=[error(503, "x")] * 4)
    sleeps: list[float] = []
    run(many_csv(tmp_path, 1), server, sleeps, rng=random.Random(42))
    assert len(sleeps) == 4
    assert all(0 <= s <= 0.5 * 2**i for i, s in enumerate(sleeps))
    assert len(set(sleeps)) == 4


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_is_honoured(tmp_path: Path, status: int) -> None:
    busy = error(status, "slow down", {"Retry-After": "7"})
    server = FakeServer(script=[busy])
    sleeps: list[float] = []
    run(many_csv(tmp_path, 1), server, sleeps, rng=MinRng(0))
    assert sleeps == [7.0]
    assert len(server.requests) == 2


def test_backoff_wins_when_longer_than_retry_after(tmp_path: Path) -> None:
    server = FakeServer(script=[error(429, "slow down", {"Retry-After": "0"})])
    sleeps: list[float] = []
    run(many_csv(tmp_path, 1), server, sleeps)
    assert sleeps == [0.5]


def test_retry_after_http_date_is_honoured(tmp_path: Path) -> None:
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    server = FakeServer(script=[error(429, "slow down", {"Retry-After": when})])
    sleeps: list[float] = []
    run(many_csv(tmp_path, 1), server, sleeps, rng=MinRng(0))
    assert len(sleeps) == 1
    assert 17.0 <= sleeps[0] <= 20.0


def test_retry_after_is_capped_at_four_times_max_delay(tmp_path: Path) -> None:
    server = FakeServer(script=[error(429, "slow", {"Retry-After": "100000"})])
    sleeps: list[float] = []
    run(many_csv(tmp_path, 1), server, sleeps, max_delay=10.0)
    assert sleeps == [40.0]


def test_retry_after_on_500_is_ignored(tmp_path: Path) -> None:
    server = FakeServer(script=[error(500, "boom", {"Retry-After": "9"})])
    sleeps: list[float] = []
    run(many_csv(tmp_path, 1), server, sleeps, rng=MinRng(0))
    assert sleeps == [0.0]


@pytest.mark.parametrize(
    "exc",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("x")],
)
def test_network_errors_are_retried(tmp_path: Path, exc: Exception) -> None:
    server = FakeServer(script=[exc])
    sleeps: list[float] = []
    summary = run(many_csv(tmp_path, 2), server, sleeps)
    assert len(server.requests) == 2
    assert sleeps == [0.5]
    assert summary.accepted == 2


def test_idempotency_key_is_kept_across_retries_and_changes_per_batch(tmp_path: Path) -> None:
    script: list[Step] = [error(503, "x"), error(503, "x"), None, httpx.ConnectError("x")]
    server = FakeServer(script=script)
    run(many_csv(tmp_path, 5), server, batch_size=2)
    keys = [r.headers["Idempotency-Key"] for r in server.requests]
    assert len(keys) == 6  # batch 1: 3 tries, batch 2: 2 tries, batch 3: 1
    assert keys[0] == keys[1] == keys[2]
    assert keys[3] == keys[4]
    assert len({keys[0], keys[3], keys[5]}) == 3
    assert all(uuid.UUID(k).version == 4 for k in keys)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "Request body must be a JSON array of logs"),
        (401, "Invalid API key"),
        (403, "Key lacks the ingest scope"),
        (413, "Request body too large"),
        (415, "Content-Type must be application/json"),
        (422, "Unprocessable"),
    ],
)
def test_other_4xx_are_not_retried_and_surface_the_message(
    tmp_path: Path, status: int, message: str
) -> None:
    server = FakeServer(script=[error(status, message)])
    sleeps: list[float] = []
    with pytest.raises(PushError, match=f"HTTP {status}: {message}") as caught:
        run(many_csv(tmp_path, 2), server, sleeps)
    assert caught.value.status == status
    assert len(server.requests) == 1
    assert sleeps == []


def test_wrong_key_is_reported_by_the_fake(tmp_path: Path) -> None:
    server = FakeServer()
    with pytest.raises(PushError, match="Invalid API key"):
        push_file(
            many_csv(tmp_path, 1), url="http://punch.test", key="wrong", transport=server.transport
        )
    assert len(server.requests) == 1


def test_redirect_is_not_retried(tmp_path: Path) -> None:
    moved = httpx.Response(308, headers={"Location": "https://punch.test/v1/logs"})
    server = FakeServer(script=[moved])
    with pytest.raises(PushError, match=r"redirected to https://punch\.test/v1/logs"):
        run(many_csv(tmp_path, 1), server)
    assert len(server.requests) == 1


def test_gives_up_after_max_attempts(tmp_path: Path) -> None:
    server = FakeServer(script=[error(503, "storage unavailable")] * 10)
    sleeps: list[float] = []
    with pytest.raises(
        PushError, match="after 3 attempts: HTTP 503: storage unavailable"
    ) as caught:
        run(many_csv(tmp_path, 1), server, sleeps, max_attempts=3)
    assert caught.value.status == 503
    assert len(server.requests) == 3
    assert len(sleeps) == 2


def test_gives_up_on_persistent_network_errors(tmp_path: Path) -> None:
    server = FakeServer(script=[httpx.ConnectError("connection refused")] * 4)
    with pytest.raises(
        PushError, match="network error: ConnectError: connection refused"
    ) as caught:
        run(many_csv(tmp_path, 1), server, max_attempts=4)
    assert caught.value.status is None
    assert len(server.requests) == 4


def test_failure_reports_logs_already_sent(tmp_path: Path) -> None:
    server = FakeServer(script=[None, error(401, "Invalid API key")])
    with pytest.raises(PushError, match=r"batch 2/3 \(lines 4-5\)") as caught:
        run(many_csv(tmp_path, 5), server, batch_size=2)
    assert caught.value.logs_done == 2


def test_200_with_succeeded_false_is_an_error(tmp_path: Path) -> None:
    server = FakeServer(script=[error(200, "device unknown")])
    with pytest.raises(PushError, match="device unknown"):
        run(many_csv(tmp_path, 1), server)
    assert len(server.requests) == 1


def test_200_without_counts_is_an_error(tmp_path: Path) -> None:
    server = FakeServer(script=[httpx.Response(200, json={"succeeded": True})])
    with pytest.raises(PushError, match="without logsReceived"):
        run(many_csv(tmp_path, 1), server)


# --- the summary ----------------------------------------------------------------------------------


def _mixed_file(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        "mixed.csv",
        HEADER  # line 1
        + f"{DEV},E1,2026-12-03T09:00:00,0\n"  # 2 new
        + "\n"  # 3
        + f"{DEV},E9,2026-12-03T09:00:00,0\n"  # 4 unmatched
        + f"{DEV},E1,2000-01-01T09:00:00,0\n"  # 5 too_old
        + f"{DEV},E1,2026-12-03T09:00:00,0\n"  # 6 duplicate of line 2
        + f"{DEV},E2,2026-12-03T09:00:00,IN\n"  # 7 invalid_status
        + f"{DEV},E2,2026-12-03T18:00:00,1\n",  # 8 new
    )


def test_summary_counts_and_rejections_map_back_to_file_lines(tmp_path: Path) -> None:
    server = FakeServer()
    summary = run(_mixed_file(tmp_path), server, batch_size=2)
    assert server.batch_sizes == [2, 2, 2]
    assert (summary.batches, summary.received, summary.accepted) == (3, 6, 4)
    assert (summary.duplicate, summary.unmatched, summary.rejected) == (1, 1, 2)
    assert summary.rejected_by_reason == {"too_old": 1, "invalid_status": 1}
    assert summary.rejections == [
        Rejection(5, "too_old", "2000-01-01T09:00:00 is too old"),
        Rejection(7, "invalid_status", "Status 'IN'"),
    ]


def test_plain_keka_response_defaults_extension_counts_to_zero(tmp_path: Path) -> None:
    summary = run(_mixed_file(tmp_path), FakeServer(extensions=False), batch_size=2)
    assert (summary.received, summary.accepted) == (6, 4)
    assert (summary.duplicate, summary.unmatched, summary.rejected) == (0, 0, 0)
    assert summary.rejected_by_reason == {}
    assert summary.rejections == []


def test_rejection_with_an_index_outside_the_batch_maps_to_line_zero(tmp_path: Path) -> None:
    data = {**_counts(1), "rejected": [reject(7, "odd", "m"), reject(0, "too_old", "old")]}
    server = FakeServer(script=[httpx.Response(200, json={"data": data, "succeeded": True})])
    summary = run(many_csv(tmp_path, 1), server)
    assert summary.rejections == [Rejection(0, "odd", "m"), Rejection(2, "too_old", "old")]
    assert summary.rejected == 2  # logsRejected absent: counted from the list
