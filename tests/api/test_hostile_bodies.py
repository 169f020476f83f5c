"""Hostile bodies against ``POST /v1/logs`` (issue 5, item 3, "bad input at scale").

Whatever the body, the answer is never a 5xx; it is either the compat error envelope
``{"errors": [...], "succeeded": false}`` with a 4xx and nothing stored from the request, or a
200 Keka success envelope whose counts are exactly what was stored. The corpus runs in process
on SQLite and PostgreSQL, and once more, whole, against a real ``punchlog serve`` whose memory
must stay bounded.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from punchlog.domain.logs import (
    DEVICE_DISABLED,
    EMPLOYEE_INACTIVE,
    IN_FUTURE,
    INVALID_EMPLOYEE_NUMBER,
    INVALID_LOG,
    INVALID_STATUS,
    INVALID_TIMESTAMP,
    REASONS,
    TOO_OLD,
    UNKNOWN_DEVICE,
)
from punchlog.services.ingest import kept_json
from punchlog.services.store import Store
from punchlog.settings import Settings
from punchlog.storage import punches as punch_rows
from punchlog.storage.tables import ingest_requests, rejected_logs
from tests.api.conftest import Stored
from tests.e2e.conftest import (
    HOST,
    RawResponse,
    Server,
    fresh_database,
    prepare_world,
    read_response,
    run_server,
    scalar,
)
from tests.support.world import DEVICE, DEVICE_OFF, LEFT, World, local_now, log

URL = "/v1/logs"
JSON = "application/json"
MIB = 1024 * 1024
DEFAULT_LIMIT = Settings.model_fields["max_body_bytes"].default  # 2 MiB, what `serve` uses
FIELDS = ("DeviceIdentifier", "EmployeeAttendanceNumber", "Timestamp", "Status")
DATA_KEYS = {
    "logsReceived",
    "logsAccepted",
    "logsDuplicate",
    "logsUnmatched",
    "logsRejected",
    "rejected",
}
HOLE = "__hostile_hole__"
UNKNOWN_GUID = "99999999-0000-4000-8000-000000000009"

# --- building bodies ---------------------------------------------------------------------------


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def with_literal(field: str, literal: bytes, *, base: dict[str, Any] | None = None) -> bytes:
    """``[log]`` with ``field``'s JSON value replaced by ``literal``, bytes as sent."""
    item = dict(base or log())
    item[field] = HOLE
    body = dumps([item])
    assert body.count(b'"' + HOLE.encode() + b'"') == 1
    return body.replace(b'"' + HOLE.encode() + b'"', literal)


def with_value(field: str, value: Any) -> bytes:
    item = log()
    item[field] = value
    return dumps([item])


def padded(body: bytes, size: int) -> bytes:
    """``body`` (an array) padded with whitespace before its closing bracket to ``size`` bytes."""
    assert body.endswith(b"]")
    assert len(body) <= size
    return body[:-1] + b" " * (size - len(body)) + b"]"


def nested(depth: int, inner: bytes = b"") -> bytes:
    return b"[" * depth + inner + b"]" * depth


def garbage_value(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value of any type (64-bit integers, finite floats, any text)."""
    kinds = ["null", "bool", "int", "float", "str"] + (["list", "dict"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "null":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.choice([0, 1, -1, 2, rng.randint(-(2**63), 2**63 - 1)])
    if kind == "float":
        return rng.choice([0.0, -0.0, 1.0, 0.5, rng.uniform(-1e308, 1e308), 5e-324])
    if kind == "str":
        alphabet = 'aZ09 -:T{}"\\\x00\x1f\x7f\u00e9\u2028\u4e2d\U0001f600'
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
    if kind == "list":
        return [garbage_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = [*FIELDS, "", "x", "DEVICEIDENTIFIER", "status"]
    return {rng.choice(keys): garbage_value(rng, depth + 1) for _ in range(rng.randint(0, 6))}


def garbage(count: int, seed: int = 5) -> bytes:
    rng = random.Random(seed)
    items = []
    for _ in range(count):
        value = garbage_value(rng)
        if isinstance(value, dict) and rng.random() < 0.5:  # a log with some fields gone bad
            item = log(f"G{rng.randint(0, 99)}")
            item.update(value)
            value = item
        items.append(value)
    return dumps(items)


def mixed_items() -> list[Any]:
    """Valid and invalid logs; the comments say what each must come to (MIXED_REJECTED
    lists the rejected ones, MIXED_STORED the ones stored)."""
    now = local_now()
    first = log("E1", minutes_ago=10)
    return [
        first,  # 0 new
        None,  # 1
        log("E2", minutes_ago=11),  # 2 new
        log("E1", minutes_ago=14, status=7),  # 3
        {**log("E1"), "Timestamp": "yesterday"},  # 4
        log("E1", device=UNKNOWN_GUID),  # 5
        log("E1", device=DEVICE_OFF),  # 6
        log("E1", at=now - timedelta(days=40)),  # 7
        log("E1", at=now + timedelta(days=1)),  # 8
        log("", minutes_ago=15),  # 9
        log(LEFT, minutes_ago=16),  # 10
        log("NEW-7", minutes_ago=17),  # 11 held (unmatched)
        dict(first),  # 12 duplicate of 0
        log("E3", minutes_ago=18, status="1"),  # 13 new
        log("E1", device="{" + DEVICE.upper() + "}", minutes_ago=12),  # 14 new
        [log("E2", minutes_ago=19)],  # 15
        {**log("E2", minutes_ago=13), "Extra": {"deep": [1, 2, 3]}, "status": "x"},  # 16 new
    ]


MIXED_REJECTED = {
    1: INVALID_LOG,
    3: INVALID_STATUS,
    4: INVALID_TIMESTAMP,
    5: UNKNOWN_DEVICE,
    6: DEVICE_DISABLED,
    7: TOO_OLD,
    8: IN_FUTURE,
    9: INVALID_EMPLOYEE_NUMBER,
    10: EMPLOYEE_INACTIVE,
    15: INVALID_LOG,
}
MIXED_STORED = (0, 2, 11, 13, 14, 16)


# --- the corpus --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A hostile body. ``build(limit)`` makes it (at send time: timestamps are near now, and
    the body limit is the app's). ``statuses``: the answers the spec allows. On a 200,
    ``rejected`` (when given) is the exact {index: reason} the answer must list."""

    build: Callable[[int], bytes]
    statuses: frozenset[int]
    content_type: str | None = JSON
    rejected: dict[int, str] | None = None


def case(
    build: Callable[[int], bytes],
    *statuses: int,
    content_type: str | None = JSON,
    rejected: dict[int, str] | None = None,
) -> Case:
    return Case(build, frozenset(statuses), content_type, rejected)


# What a value of the wrong kind in each field is rejected as.
STRING_REASON = {
    "DeviceIdentifier": UNKNOWN_DEVICE,
    "EmployeeAttendanceNumber": INVALID_EMPLOYEE_NUMBER,
    "Timestamp": INVALID_TIMESTAMP,
    "Status": INVALID_STATUS,
}
NUMBER_REASON = {**STRING_REASON, "DeviceIdentifier": INVALID_LOG}

# name -> (literal, out of double range, {field: reason on a 200; absent: accepted})
NUMBERS: dict[str, tuple[bytes, bool, dict[str, str]]] = {
    "1e400": (b"1e400", True, NUMBER_REASON),
    "-1e400": (b"-1e400", True, NUMBER_REASON),
    "10**400-digits": (b"1" + b"0" * 400, True, NUMBER_REASON),
    "-0": (b"-0", False, {"DeviceIdentifier": INVALID_LOG, "Timestamp": INVALID_TIMESTAMP}),
    "1e-400": (b"1e-400", False, NUMBER_REASON),
    "2**64-digits": (
        b"18446744073709551616",
        False,
        {f: r for f, r in NUMBER_REASON.items() if f != "EmployeeAttendanceNumber"},
    ),
    "10**70-digits": (b"1" + b"0" * 70, False, NUMBER_REASON),
}


def _field_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for field in FIELDS:
        short = {"DeviceIdentifier": "device", "EmployeeAttendanceNumber": "number"}.get(
            field, field.lower()
        )
        for name, (literal, overflows, reasons) in NUMBERS.items():
            rejected = {0: reasons[field]} if field in reasons else {}
            statuses = (200, 400) if overflows else (200,)
            cases[f"number-{name}-in-{short}"] = case(
                lambda _, f=field, lit=literal: with_literal(f, lit), *statuses, rejected=rejected
            )
        for literal in (b"NaN", b"Infinity", b"-Infinity"):
            cases[f"{literal.decode()}-in-{short}"] = case(
                lambda _, f=field, lit=literal: with_literal(f, lit), 400
            )
        good = log()[field]
        with_nul = f"{good}\x00" if isinstance(good, str) else "\x00"
        cases[f"nul-escaped-in-{short}"] = case(
            lambda _, f=field, v=with_nul: with_value(f, v),
            200,
            rejected={0: STRING_REASON[field]},
        )
        cases[f"nul-raw-in-{short}"] = case(lambda _, f=field: with_literal(f, b'"E\x001"'), 400)
        cases[f"lone-surrogate-in-{short}"] = case(
            lambda _, f=field: with_literal(f, b'"E\\ud800"'),
            200,
            400,
            rejected={0: STRING_REASON[field]},
        )
        cases[f"invalid-utf8-in-{short}"] = case(
            lambda _, f=field: with_literal(f, b'"E\xff\xfe1"'), 400
        )
        cases[f"megabyte-string-in-{short}"] = case(
            lambda _, f=field: with_value(f, "A" * MIB), 200, rejected={0: STRING_REASON[field]}
        )
    return cases


def _over_limit(limit: int) -> bytes:
    return padded(dumps([log()]), limit + 1)


def _extra_keys(status: Any) -> Callable[[int], bytes]:
    def build(_: int) -> bytes:
        item: dict[str, Any] = {f"k{i}": i for i in range(10_000)}
        item.update(log(status=status))
        return dumps([item])

    return build


def _same_punch_1000(_: int) -> bytes:
    return dumps([log("E1", minutes_ago=20)] * 1000)


def _duplicate_keys(first: bytes, second: bytes) -> Callable[[int], bytes]:
    def build(_: int) -> bytes:
        body = dumps([log()])
        return body[:-2] + b',"Status":' + first + b',"Status":' + second + b"}]"

    return build


def _hand_escaped(_: int) -> bytes:
    """Every character of the keys and values written as a \\u escape, spread over lines."""
    item = log()

    def escaped(text: str) -> str:
        return '"' + "".join(f"\\u{ord(c):04x}" for c in text) + '"'

    members = [
        f"\n  {escaped(k)} :\t{escaped(v) if isinstance(v, str) else v}" for k, v in item.items()
    ]
    return ("[ {" + " ,".join(members) + "\n} ]").encode()


STRUCTURAL: dict[str, Case] = {
    "empty-body": case(lambda _: b"", 400),
    "whitespace-only": case(lambda _: b" \r\n\t ", 400),
    "null": case(lambda _: b"null", 400),
    "empty-object": case(lambda _: b"{}", 400),
    "bare-string": case(lambda _: b'"[{\\"Status\\": 0}]"', 400),
    "bare-number": case(lambda _: b"1000", 400),
    "empty-array": case(lambda _: b"[]", 400),
    "a-single-log-not-in-an-array": case(lambda _: dumps(log()), 400),
    "arrays-10000-deep": case(lambda _: nested(10_000), 400),
    "objects-10000-deep": case(lambda _: b'{"a":' * 10_000 + b"1" + b"}" * 10_000, 400),
    "arrays-1000-deep-in-a-batch": case(
        lambda _: dumps([log()])[:-1] + b"," + nested(1000) + b"]", 200, 400
    ),
    # Deep enough to pass the parser (1024 levels), deeper than the re-serialiser (255).
    "arrays-300-deep": case(lambda _: nested(300), 200, 400, rejected={0: INVALID_LOG}),
    "arrays-300-deep-in-a-rejected-log": case(
        lambda _: with_literal("Extra", nested(299), base=log(status=2)),
        200,
        400,
        rejected={0: INVALID_STATUS},
    ),
    "arrays-300-deep-in-a-valid-log": case(
        lambda _: with_literal("Extra", nested(299)), 200, 400, rejected={}
    ),
    "bom-prefixed": case(lambda _: b"\xef\xbb\xbf" + dumps([log()]), 200, 400, rejected={}),
    "utf16-encoded": case(lambda _: dumps([log()]).decode().encode("utf-16"), 400),
    "trailing-garbage": case(lambda _: dumps([log()]) + b" garbage", 400),
    "trailing-second-array": case(lambda _: dumps([log()]) * 2, 400),
    "trailing-nul": case(lambda _: dumps([log()]) + b"\x00", 400),
    "line-comment": case(lambda _: b"// logs\n" + dumps([log()]), 400),
    "block-comment": case(lambda _: b"[/* one log */" + dumps(log()) + b"]", 400),
    "trailing-comma": case(lambda _: dumps([log()])[:-1] + b",]", 400),
    "single-quoted": case(lambda _: dumps([log()]).replace(b'"', b"'"), 400),
    "content-type-text-plain": case(lambda _: dumps([log()]), 415, content_type="text/plain"),
    "content-type-form": case(
        lambda _: dumps([log()]), 415, content_type="application/x-www-form-urlencoded"
    ),
    "content-type-json-lookalike": case(
        lambda _: dumps([log()]), 415, content_type="application/json-patch+json"
    ),
    "content-type-missing": case(lambda _: dumps([log()]), 415, content_type=None),
    "body-at-the-limit": case(lambda limit: padded(dumps([log()]), limit), 200, rejected={}),
    "body-one-byte-over-the-limit": case(_over_limit, 413),
    "overlong-utf8-slash": case(lambda _: with_literal("Timestamp", b'"\xc0\xaf"'), 400),
    "overlong-utf8-three-bytes": case(
        lambda _: with_literal("EmployeeAttendanceNumber", b'"E\xe0\x80\xaf"'), 400
    ),
    "utf8-encoded-surrogate": case(
        lambda _: with_literal("EmployeeAttendanceNumber", b'"E\xed\xa0\x80"'), 400
    ),
    "truncated-utf8": case(lambda _: with_literal("DeviceIdentifier", b'"\xe2\x82"'), 400),
    "invalid-utf8-between-tokens": case(lambda _: b"[\xff" + dumps(log()) + b"]", 400),
    "nul-raw-between-tokens": case(lambda _: b"[\x00" + dumps(log()) + b"]", 400),
    "megabyte-fraction-of-a-second": case(
        lambda _: with_value("Timestamp", log()["Timestamp"] + "." + "9" * MIB),
        200,
        rejected={},
    ),
    "megabyte-of-whitespace-around-the-number": case(
        lambda _: with_value(
            "EmployeeAttendanceNumber", " " * (MIB // 2) + "E1" + " " * (MIB // 2)
        ),
        200,
        rejected={},
    ),
    "megabyte-of-whitespace-between-tokens": case(
        lambda _: b"[" + b" \n\t\r" * (MIB // 4) + dumps(log()) + b"]", 200, rejected={}
    ),
    "every-character-escaped": case(_hand_escaped, 200, rejected={}),
    "extra-keys-10000-in-a-valid-log": case(_extra_keys(0), 200, rejected={}),
    "extra-keys-10000-in-a-rejected-log": case(_extra_keys(5), 200, rejected={0: INVALID_STATUS}),
    "duplicate-keys-valid-then-invalid": case(
        _duplicate_keys(b"0", b"7"), 200, rejected={0: INVALID_STATUS}
    ),
    "duplicate-keys-invalid-then-valid": case(_duplicate_keys(b"7", b"1"), 200, rejected={}),
    "arrays-of-arrays": case(
        lambda _: dumps([[log()], [log("E2")], []]),
        200,
        rejected={0: INVALID_LOG, 1: INVALID_LOG, 2: INVALID_LOG},
    ),
    "array-of-scalars": case(
        lambda _: b'[null, true, 0, -0, 1e-400, "", "[]", {}]',
        200,
        rejected=dict.fromkeys(range(8), INVALID_LOG),
    ),
    "field-names-in-the-wrong-case": case(
        lambda _: dumps([{k.lower(): v for k, v in log().items()}]), 200, rejected={0: INVALID_LOG}
    ),
    "garbage-1000-logs-of-random-types": case(lambda _: garbage(1000), 200),
    "the-same-punch-1000-times": case(_same_punch_1000, 200, rejected={}),
    "logs-1001-valid": case(
        lambda _: dumps([log(f"E{i}", minutes_ago=10 + i % 600) for i in range(1001)]), 400
    ),
    "logs-1001-garbage": case(lambda _: garbage(1001, seed=6), 400),
    "mixed-valid-and-invalid": case(lambda _: dumps(mixed_items()), 200, rejected=MIXED_REJECTED),
    # Integers beyond 64 bits in a rejected log (read by the standard library parser, because
    # of a float attendance number elsewhere in the batch).
    "big-integer-status-beside-a-float-number": case(
        lambda _: (
            dumps([log("E1", minutes_ago=21)])[:-2]
            + b',"x":1},'
            + with_literal("EmployeeAttendanceNumber", b"1.5")[1:-1]
            + b","
            + with_literal("Status", b"100000000000000000000")[1:]
        ),
        200,
        rejected={1: INVALID_EMPLOYEE_NUMBER, 2: INVALID_STATUS},
    ),
    "big-integer-number-on-a-too-old-log": case(
        lambda _: with_literal(
            "EmployeeAttendanceNumber",
            b"100000000000000000000",
            base=log(at=local_now() - timedelta(days=40)),
        ),
        200,
        rejected={0: TOO_OLD},
    ),
}

CORPUS: dict[str, Case] = {**STRUCTURAL, **_field_cases()}


# --- checking an answer ----------------------------------------------------------------------


def server_items(body: bytes) -> list[Any]:
    """The body as the server reads it (api.logs.parse_json): orjson, or the standard library
    where a log has a float attendance number."""
    body = body.removeprefix(b"\xef\xbb\xbf")  # should a BOM ever be allowed
    items = orjson.loads(body)
    assert isinstance(items, list)
    if any(
        isinstance(i, dict) and isinstance(i.get("EmployeeAttendanceNumber"), float) for i in items
    ):
        items = json.loads(body)
    return items


def _latest_request(store: Store, tenant_id: int) -> dict[str, Any]:
    with store.read() as conn:
        row = (
            conn.execute(
                select(ingest_requests)
                .where(ingest_requests.c.tenant_id == tenant_id)
                .order_by(ingest_requests.c.id.desc())
                .limit(1)
            )
            .mappings()
            .one()
        )
    return dict(row)


def assert_error_envelope(status: int, content_type: str, content: bytes) -> list[str]:
    assert status >= 400, (status, content[:500])
    assert content_type.startswith("application/json"), content_type
    payload = orjson.loads(content)
    assert set(payload) == {"errors", "succeeded"}, payload
    assert payload["succeeded"] is False
    assert isinstance(payload["errors"], list)
    assert payload["errors"]
    assert all(isinstance(m, str) and m for m in payload["errors"])
    return list(payload["errors"])


def assert_success_envelope(content_type: str, content: bytes, received: int) -> dict[str, Any]:
    assert content_type.startswith("application/json"), content_type
    payload = orjson.loads(content)
    assert set(payload) == {"data", "succeeded"}, payload
    assert payload["succeeded"] is True
    data = payload["data"]
    assert set(data) == DATA_KEYS, data
    assert data["logsReceived"] == received
    assert data["logsReceived"] == data["logsAccepted"] + data["logsRejected"]
    assert 0 <= data["logsDuplicate"] + data["logsUnmatched"] <= data["logsAccepted"]
    assert len(data["rejected"]) == data["logsRejected"]
    indexes = [r["index"] for r in data["rejected"]]
    assert indexes == sorted(set(indexes))
    assert all(0 <= i < received for i in indexes)
    for rejection in data["rejected"]:
        assert set(rejection) == {"index", "reason", "message"}
        assert rejection["reason"] in REASONS
        assert isinstance(rejection["message"], str)
        assert rejection["message"]
    return dict(data)


def check_answer(
    hostile: Case,
    body: bytes,
    status: int,
    content_type: str,
    content: bytes,
    before: Stored,
    after: Stored,
    latest_request: Callable[[], dict[str, Any]],
) -> None:
    if status != 200:
        # Even a failure must be the envelope and leave nothing half-stored; then it must
        # be a 4xx the spec allows for this body.
        assert after == before, f"{status}: stored {after} (before {before})"
        assert_error_envelope(status, content_type, content)
    assert status < 500, f"{status}: {content[:500]!r}"
    assert status in hostile.statuses, f"{status}: {content[:500]!r}"
    if status != 200:
        return
    items = server_items(body)
    data = assert_success_envelope(content_type, content, len(items))
    if hostile.rejected is not None:
        assert {r["index"]: r["reason"] for r in data["rejected"]} == hostile.rejected
    # What the answer says is what was stored: new and held logs, one request row, and one
    # kept rejection per distinct (reason, item).
    assert after.punches - before.punches == data["logsAccepted"] - data["logsDuplicate"]
    assert after.requests - before.requests == 1
    fingerprints = {(r["reason"], kept_json(items[r["index"]])) for r in data["rejected"]}
    assert after.rejected - before.rejected == len(fingerprints)
    row = latest_request()
    assert (
        row["logs_received"],
        row["logs_accepted"],
        row["logs_duplicate"],
        row["logs_unmatched"],
        row["logs_rejected"],
    ) == (
        data["logsReceived"],
        data["logsAccepted"],
        data["logsDuplicate"],
        data["logsUnmatched"],
        data["logsRejected"],
    )


# --- in process, SQLite and PostgreSQL -------------------------------------------------------


def test_the_corpus_is_large_and_covers_every_field() -> None:
    assert len(CORPUS) >= 40
    for field in ("device", "number", "timestamp", "status"):
        kinds = {name.split("-in-")[0] for name in CORPUS if name.endswith(f"-in-{field}")}
        assert {"nul-raw", "nul-escaped", "lone-surrogate", "megabyte-string"} <= kinds
        assert {"NaN", "Infinity", "-Infinity", "number-1e400", "number-10**400-digits"} <= kinds


@pytest.mark.parametrize("name", list(CORPUS))
def test_a_hostile_body_gets_a_4xx_envelope_or_an_exact_200(
    client: TestClient,
    settings: Settings,
    store: Store,
    tenant_id: int,
    world: World,
    stored: Callable[[], Stored],
    name: str,
) -> None:
    hostile = CORPUS[name]
    body = hostile.build(settings.max_body_bytes)
    headers = {"X-API-Key": world.ingest_key}
    if hostile.content_type is not None:
        headers["Content-Type"] = hostile.content_type
    before = stored()
    response = client.post(URL, content=body, headers=headers)
    check_answer(
        hostile,
        body,
        response.status_code,
        response.headers.get("content-type", ""),
        response.content,
        before,
        stored(),
        lambda: _latest_request(store, tenant_id),
    )
    assert response.headers.get("x-request-id")


def test_mixed_logs_store_the_valid_ones_exactly_once_and_say_why_the_rest_failed(
    client: TestClient,
    store: Store,
    tenant_id: int,
    ingest_headers: dict[str, str],
    stored: Callable[[], Stored],
) -> None:
    items = mixed_items()
    body = dumps(items)
    first = client.post(URL, content=body, headers=ingest_headers)
    assert first.status_code == 200, first.text
    data = first.json()["data"]
    assert {r["index"]: r["reason"] for r in data["rejected"]} == MIXED_REJECTED
    assert (
        data["logsReceived"],
        data["logsAccepted"],
        data["logsDuplicate"],
        data["logsUnmatched"],
        data["logsRejected"],
    ) == (17, 7, 1, 1, 10)
    by_index = {r["index"]: r["message"] for r in data["rejected"]}
    assert "Status" in by_index[3]
    assert "yesterday" in by_index[4]
    assert "30 days" in by_index[7]
    with store.read() as conn:
        rows = punch_rows.list_punches(conn, tenant_id=tenant_id)
    got = sorted((r["employee_number"], r["local_time"].isoformat(), r["status"]) for r in rows)
    want = sorted(
        (
            str(items[i]["EmployeeAttendanceNumber"]),
            items[i]["Timestamp"],
            int(items[i]["Status"]),
        )
        for i in MIXED_STORED
    )
    assert got == want
    assert {r["employee_number"]: r["employee_id"] is None for r in rows}["NEW-7"] is True
    after_first = stored()
    assert after_first.punches == len(MIXED_STORED)
    assert after_first.rejected == len(MIXED_REJECTED)

    # The same body again (a retry after a lost answer): every kept log is a duplicate, the
    # rejections are the same, nothing new is stored but the request row.
    again = client.post(URL, content=body, headers=ingest_headers)
    assert again.status_code == 200, again.text
    repeat = again.json()["data"]
    assert repeat["rejected"] == data["rejected"]
    assert (repeat["logsAccepted"], repeat["logsDuplicate"]) == (7, 7)
    assert stored() == Stored(punches=len(MIXED_STORED), requests=2, rejected=len(MIXED_REJECTED))
    with store.read() as conn:
        occurrences = (
            conn.execute(
                select(rejected_logs.c.occurrences).where(rejected_logs.c.tenant_id == tenant_id)
            )
            .scalars()
            .all()
        )
    assert sorted(occurrences) == [2] * len(MIXED_REJECTED)


def test_duplicate_keys_are_read_the_same_way_on_every_path(
    client: TestClient,
    store: Store,
    tenant_id: int,
    ingest_headers: dict[str, str],
) -> None:
    """A repeated member: the usual path (exactly the four fields, decoded straight into typed
    logs) and the general path (an extra member) must pick the same occurrence."""
    usual = dumps([log("E1", minutes_ago=30)])[:-2] + b',"EmployeeAttendanceNumber":"E2"}]'
    general = (
        dumps([{**log("E1", minutes_ago=31), "x": 1}])[:-2] + b',"EmployeeAttendanceNumber":"E2"}]'
    )
    for body in (usual, general):
        response = client.post(URL, content=body, headers=ingest_headers)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["logsAccepted"] == 1
    with store.read() as conn:
        numbers = [r["employee_number"] for r in punch_rows.list_punches(conn, tenant_id=tenant_id)]
    assert numbers in (["E2", "E2"], ["E1", "E1"])


# --- a real server --------------------------------------------------------------------------

IO_TIMEOUT = 60.0


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the server may answer (413) and hang up first
        sock.sendall(data)


def exchange(port: int, key: str, body: bytes, content_type: str | None) -> RawResponse:
    """One POST /v1/logs on a fresh connection, the body sent while the answer is read."""
    head = (
        "POST /v1/logs HTTP/1.1\r\n"
        f"Host: {HOST}\r\n"
        f"X-API-Key: {key}\r\n"
        + (f"Content-Type: {content_type}\r\n" if content_type is not None else "")
        + f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        "\r\n"
    )
    with socket.create_connection((HOST, port), timeout=IO_TIMEOUT) as sock:
        sock.sendall(head.encode("latin-1"))
        writer = threading.Thread(target=_send_quietly, args=(sock, body), daemon=True)
        writer.start()
        try:
            return read_response(sock)
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            writer.join(IO_TIMEOUT)


def rss_bytes(pid: int) -> int:
    """Resident set size of process ``pid`` (VmRSS in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            value, unit = line.split()[1:3]
            assert unit == "kB"
            return int(value) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


@dataclass(frozen=True)
class Live:
    server: Server
    world: World


@pytest.fixture(params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    """The e2e harness (tests/e2e/conftest.py): tenant ``acme`` prepared with the services,
    then a real ``punchlog serve`` (one process: the server is the child itself), rate limit
    off so that only the bodies decide the answers."""
    with fresh_database(request.param, tmp_path, request) as db:
        world = prepare_world(db)
        with run_server(db, tmp_path, PUNCHLOG_RATE_LIMIT_PER_SECOND="0") as server:
            cmdline = Path(f"/proc/{server.proc.pid}/cmdline").read_bytes()
            assert b"serve" in cmdline  # the process we measure is the server itself
            yield Live(server, world)


# The bound. `punchlog serve` at rest is about 95 MiB (Python, FastAPI, SQLAlchemy, the
# driver; measured on this project's machine), and after the whole corpus about 115 MiB: no
# body may exceed 2 MiB, the worst of them (1000 logs of random JSON) is a few tens of MiB as
# Python objects while it is judged, and nothing of a finished request needs to be kept.
# 300 MiB in all and 100 MiB of growth leave room for the allocator's slack, and are crossed
# by a server that keeps around some fifty of the megabyte bodies it was sent.
RSS_BOUND = 300 * MIB
RSS_GROWTH_BOUND = 100 * MIB


def _normal_request_is_answered(live: Live) -> None:
    """A plain one-log request after the abuse: the exact Keka answer, and one punch stored."""
    db = live.server.db
    count = "SELECT count(*) FROM punches WHERE employee_number = 'E3'"
    before = scalar(db, count)
    probe = log("E3", minutes_ago=3)
    answer = exchange(live.server.port, live.world.ingest_key, dumps([probe]), JSON)
    assert answer.status == 200, answer.body[:500]
    assert orjson.loads(answer.body) == {
        "data": {
            "logsReceived": 1,
            "logsAccepted": 1,
            "logsDuplicate": 0,
            "logsUnmatched": 0,
            "logsRejected": 0,
            "rejected": [],
        },
        "succeeded": True,
    }
    assert scalar(db, count) == before + 1


@pytest.mark.e2e
def test_a_real_server_takes_the_whole_corpus_without_a_5xx_or_a_leak(live_server: Live) -> None:
    port, key, pid = (
        live_server.server.port,
        live_server.world.ingest_key,
        live_server.server.proc.pid,
    )
    at_rest = rss_bytes(pid)
    problems: list[str] = []
    for name, hostile in CORPUS.items():
        body = hostile.build(DEFAULT_LIMIT)
        try:
            answer = exchange(port, key, body, hostile.content_type)
        except (OSError, ConnectionError) as exc:
            problems.append(f"{name}: no answer ({exc!r})")
            continue
        content_type = answer.headers.get("content-type", "")
        if answer.status == 200:
            assert_success_envelope(content_type, answer.body, len(server_items(body)))
        else:  # a 5xx too must be the envelope
            assert_error_envelope(answer.status, content_type, answer.body)
        if answer.status >= 500 or answer.status not in hostile.statuses:
            problems.append(f"{name}: {answer.status} {answer.body[:200]!r}")
    assert live_server.server.proc.poll() is None, live_server.server.log()[-4000:]
    time.sleep(0.5)  # let the last request's objects go
    after = rss_bytes(pid)
    _normal_request_is_answered(live_server)  # it still answers, and correctly
    memory = f"RSS {after / MIB:.0f} MiB after the corpus, {at_rest / MIB:.0f} MiB at rest"
    if after >= RSS_BOUND or after - at_rest >= RSS_GROWTH_BOUND:
        problems.append(memory)
    assert not problems, "\n".join(problems)


@pytest.mark.e2e
def test_a_real_server_keeps_nothing_of_rejected_megabyte_identifiers(live_server: Live) -> None:
    """An ingest key sends 150 logs, each with its own 1.5 MiB device identifier (225 MiB in
    all); each is rejected (unknown_device) and answered. The server must not hold on to
    them: its memory grows by less than half of what it was sent."""
    port, key, pid = (
        live_server.server.port,
        live_server.world.ingest_key,
        live_server.server.proc.pid,
    )
    warm = exchange(port, key, with_value("DeviceIdentifier", "w" * (3 * MIB // 2)), JSON)
    assert warm.status == 200, warm.body[:300]
    at_rest = rss_bytes(pid)
    count, size = 150, 3 * MIB // 2
    for i in range(count):
        identifier = f"{i:06d}" + "d" * (size - 6)
        answer = exchange(port, key, with_value("DeviceIdentifier", identifier), JSON)
        assert answer.status == 200, answer.body[:300]
        assert orjson.loads(answer.body)["data"]["rejected"][0]["reason"] == UNKNOWN_DEVICE
    time.sleep(0.5)
    grown = rss_bytes(pid) - at_rest
    _normal_request_is_answered(live_server)
    assert grown < count * size // 2, (
        f"RSS grew by {grown / MIB:.0f} MiB after {count} rejected logs of {size / MIB:.1f} MiB"
    )
