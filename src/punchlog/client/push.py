"""Push a CSV or JSONL file of logs to any Keka-compatible ``POST /v1/logs`` endpoint.

The whole file is validated before anything is sent; then it goes in batches of at most 1000,
each retried with exponential backoff and full jitter on network errors, 5xx and 429.
"""

from __future__ import annotations

import codecs
import csv
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeGuard

import httpx
import orjson

from punchlog.client.sdk import PunchlogClient, logs_endpoint

MAX_BATCH = 1000
FIELDS = ("DeviceIdentifier", "EmployeeAttendanceNumber", "Timestamp", "Status")
_ALIASES = {
    "deviceidentifier": "DeviceIdentifier",
    "device": "DeviceIdentifier",
    "employeeattendancenumber": "EmployeeAttendanceNumber",
    "employee": "EmployeeAttendanceNumber",
    "number": "EmployeeAttendanceNumber",
    "timestamp": "Timestamp",
    "time": "Timestamp",
    "status": "Status",
}
_JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json-lines"})

Log = dict[str, Any]


class PushError(Exception):
    """The file could not be read, or the server refused or never accepted a batch."""

    def __init__(self, message: str, *, status: int | None = None, logs_done: int = 0) -> None:
        super().__init__(message)
        self.status = status  # the last HTTP status, None for a file or network error
        self.logs_done = logs_done  # logs acknowledged by the server before the failure


class SourceLog(NamedTuple):
    line: int  # 1-based line number in the file where the log starts
    log: Log


class Rejection(NamedTuple):
    line: int  # 1-based line in the file; 0 when the server sent an index it should not have
    reason: str
    message: str


@dataclass(frozen=True)
class PushSummary:
    batches: int
    received: int
    accepted: int
    duplicate: int = 0
    unmatched: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)


def push_file(
    path: str | Path,
    *,
    url: str,
    key: str,
    batch_size: int = MAX_BATCH,
    max_attempts: int = 8,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
    timeout: float = 30.0,
    on_progress: Callable[[int, int], None] | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random = random.Random(),
) -> PushSummary:
    """Validate the whole file, then send it in batches; return what the server counted."""
    if batch_size < 1 or max_attempts < 1:
        raise ValueError("batch_size and max_attempts must be at least 1")
    try:
        endpoint = logs_endpoint(url)
    except ValueError as exc:
        raise PushError(str(exc)) from exc
    items = read_logs(path)
    size = min(batch_size, MAX_BATCH)
    total, count = len(items), -(-len(items) // size)
    tally = _Tally()
    with PunchlogClient(endpoint, key, timeout=timeout, transport=transport) as client:
        for number, start in enumerate(range(0, total, size), start=1):
            chunk = items[start : start + size]
            label = f"batch {number}/{count} (lines {chunk[0].line}-{chunk[-1].line})"
            try:
                logs = [item.log for item in chunk]
                data = _send(client, logs, label, max_attempts, base_delay, max_delay, sleep, rng)
            except PushError as exc:
                exc.logs_done = start
                raise
            tally.add(data, [item.line for item in chunk])
            if on_progress is not None:
                on_progress(start + len(chunk), total)
    return tally.summary()


def read_logs(path: str | Path) -> list[SourceLog]:
    """Parse the whole file (CSV or JSONL); a malformed line raises PushError naming it."""
    path = Path(path)
    try:
        return _read_jsonl(path) if _is_jsonl(path) else _read_csv(path)
    except OSError as exc:
        raise PushError(f"{path}: {exc.strerror or exc}") from exc


def _is_jsonl(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".csv", *_JSONL_SUFFIXES):
        return suffix != ".csv"
    with path.open("rb") as fh:
        while chunk := fh.read(65536):
            stripped = chunk.removeprefix(codecs.BOM_UTF8).lstrip()
            if stripped:
                return stripped.startswith(b"{")
    return False


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PushError(f"{path}: line {number}: not valid UTF-8") from exc
            yield number, text.removeprefix("\ufeff") if number == 1 else text


def _read_csv(path: Path) -> list[SourceLog]:
    reader = csv.reader((text for _, text in _lines(path)), strict=True)
    columns: dict[str, int] | None = None
    width, previous, items = 0, 0, []
    try:
        for row in reader:
            line, previous = previous + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if columns is None:
                columns, width = _csv_columns(path, line, row), len(row)
                continue
            if len(row) != width:
                raise PushError(f"{path}: line {line}: expected {width} fields, found {len(row)}")
            log: Log = {name: row[index].strip() for name, index in columns.items()}
            log["Status"] = _status(log["Status"])
            items.append(SourceLog(line, log))
    except csv.Error as exc:
        raise PushError(f"{path}: line {reader.line_num}: malformed CSV: {exc}") from exc
    return items


def _csv_columns(path: Path, line: int, header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = _canonical(cell)
        if name is None:
            continue
        if name in columns:
            raise PushError(f"{path}: line {line}: more than one column for {name}")
        columns[name] = index
    missing = [name for name in FIELDS if name not in columns]
    if missing:
        raise PushError(
            f"{path}: line {line}: header lacks column(s) {', '.join(missing)} "
            f"(expected {','.join(FIELDS)})"
        )
    return columns


def _read_jsonl(path: Path) -> list[SourceLog]:
    items = []
    for line, text in _lines(path):
        if not text.strip():
            continue
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise PushError(f"{path}: line {line}: invalid JSON: {exc}") from exc
        if not isinstance(obj, dict):
            raise PushError(f"{path}: line {line}: expected a JSON object, found {obj!r:.40}")
        log: Log = {}
        for name, value in obj.items():
            canonical = _canonical(name) or name
            if canonical in log:
                raise PushError(f"{path}: line {line}: more than one field for {canonical}")
            log[canonical] = value
        number = log.get("EmployeeAttendanceNumber")
        if isinstance(number, int) and not isinstance(number, bool):
            log["EmployeeAttendanceNumber"] = str(number)
        if isinstance(log.get("Status"), str):
            log["Status"] = _status(log["Status"])
        items.append(SourceLog(line, log))
    return items


def _canonical(name: str) -> str | None:
    return _ALIASES.get("".join(ch for ch in name.lower() if ch.isalnum()))


def _status(value: str) -> int | str:
    """``"0"``/``"1"`` become integers; anything else goes as sent, for the server to judge."""
    stripped = value.strip()
    return int(stripped) if stripped in ("0", "1") else value


def _send(
    client: PunchlogClient,
    logs: list[Log],
    label: str,
    max_attempts: int,
    base_delay: float,
    max_delay: float,
    sleep: Callable[[float], None],
    rng: random.Random,
) -> dict[str, Any]:
    """POST one batch, retrying transient failures under one Idempotency-Key."""
    idempotency_key = str(uuid.uuid4())
    status: int | None = None
    last = ""
    for attempt in range(max_attempts):
        floor = 0.0
        try:
            result = client.post_logs(logs, idempotency_key=idempotency_key)
        except httpx.TransportError as exc:
            status, last = None, f"network error: {type(exc).__name__}: {exc}"
        else:
            status = result.status_code
            if result.ok:
                return _data(result.data, label, status)
            last = f"HTTP {status}: {'; '.join(result.errors) or 'no error message'}"
            if status != 429 and status < 500:
                raise PushError(f"{label} refused: {last}", status=status)
            if status in (429, 503) and result.retry_after is not None:
                floor = min(result.retry_after, max_delay * 4)
        if attempt + 1 < max_attempts:
            sleep(max(floor, rng.uniform(0, min(max_delay, base_delay * 2**attempt))))
    raise PushError(f"{label} failed after {max_attempts} attempts: {last}", status=status)


def _data(data: dict[str, Any] | None, label: str, status: int) -> dict[str, Any]:
    if data is None or not all(_is_count(data.get(k)) for k in ("logsReceived", "logsAccepted")):
        raise PushError(f"{label}: HTTP {status} without logsReceived/logsAccepted", status=status)
    return data


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class _Tally:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.rejections: list[Rejection] = []

    def add(self, data: dict[str, Any], lines: list[int]) -> None:
        entries = data.get("rejected")
        entries = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
        self.counts["batches"] += 1
        for name, key, default in (
            ("received", "logsReceived", 0),
            ("accepted", "logsAccepted", 0),
            ("duplicate", "logsDuplicate", 0),
            ("unmatched", "logsUnmatched", 0),
            ("rejected", "logsRejected", len(entries)),
        ):
            value = data.get(key)
            self.counts[name] += value if _is_count(value) else default
        for entry in entries:
            index, reason = entry.get("index"), str(entry.get("reason", "unknown"))
            valid = isinstance(index, int) and 0 <= index < len(lines)
            line = lines[index] if valid else 0
            self.reasons[reason] += 1
            self.rejections.append(Rejection(line, reason, str(entry.get("message", ""))))

    def summary(self) -> PushSummary:
        c = self.counts
        return PushSummary(
            batches=c["batches"],
            received=c["received"],
            accepted=c["accepted"],
            duplicate=c["duplicate"],
            unmatched=c["unmatched"],
            rejected=c["rejected"],
            rejected_by_reason=dict(self.reasons),
            rejections=list(self.rejections),
        )
