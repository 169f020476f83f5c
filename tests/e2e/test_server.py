"""A real ``punchlog serve`` process, spoken to the way clients in the wild speak to Keka:
raw sockets and ``http.client``, on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import re
import socket
import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect

from tests.e2e.conftest import (
    HOST,
    LiveWorld,
    RawResponse,
    query,
    raw_request,
    read_response,
    readyz_status,
    run_cli_json,
    scalar,
)
from tests.support.world import DEVICE, local_now, log

pytestmark = pytest.mark.e2e

TIMEOUT = 10.0


def post_request(body: bytes, key: str, *, extra: str = "", close: bool = True) -> bytes:
    """A hand-built ``POST /v1/logs`` request, bytes as they go on the wire."""
    head = (
        "POST /v1/logs HTTP/1.1\r\n"
        f"Host: {HOST}\r\n"
        "Content-Type: application/json\r\n"
        f"X-API-Key: {key}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"{extra}"
        f"{'Connection: close' if close else 'Connection: keep-alive'}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


def post_json(live: LiveWorld, logs: Any, key: str | None = None, **headers: str) -> RawResponse:
    conn = http.client.HTTPConnection(HOST, live.port, timeout=TIMEOUT)
    try:
        conn.request(
            "POST",
            "/v1/logs",
            body=json.dumps(logs).encode(),
            headers={
                "Content-Type": "application/json",
                "X-API-Key": key if key is not None else live.world.ingest_key,
                **headers,
            },
        )
        response = conn.getresponse()
        return RawResponse(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
        )
    finally:
        conn.close()


def counts(payload: dict[str, Any]) -> dict[str, int]:
    data = payload["data"]
    return {
        k: data[k]
        for k in ("logsReceived", "logsAccepted", "logsDuplicate", "logsUnmatched", "logsRejected")
    }


# --------------------------------------------------------------------------------------------
# (a) whitespace-heavy, hand-built JSON
# --------------------------------------------------------------------------------------------


def test_whitespace_heavy_hand_built_json_gets_exact_counts(live: LiveWorld) -> None:
    now = local_now()
    t1 = (now - timedelta(minutes=20)).isoformat()
    t2 = (now - timedelta(minutes=15)).isoformat()
    t3 = (now - timedelta(minutes=5)).isoformat(sep=" ")
    old = (now - timedelta(days=40)).isoformat()
    body = (
        "  [\r\n"
        "\t{\n"
        f'\t\t"Status"   :\t1 ,\n'
        '\t\t"Firmware" : { "version" : [ 1 , 2 ] } ,\n'
        f'\t\t"Timestamp" :  "{t1}"  ,\n'
        f'\t\t"EmployeeAttendanceNumber"\t:\t"E1" ,\n'
        f'\t\t"DeviceIdentifier" :\n\t\t\t"{DEVICE}"\n'
        "\t} ,\n"
        f'  {{ "EmployeeAttendanceNumber" : "X-404" , "DeviceIdentifier" : "{DEVICE}" ,'
        f' "Status" : "0" , "Timestamp" : "{t2}" }}\n'
        "  ,\n"
        # the first punch again, other key order and milliseconds: a duplicate
        f'{{"DeviceIdentifier":"{DEVICE.upper()}"  ,  "Timestamp" : "{t1}.250" ,'
        f'\n "Status" : 1 , "EmployeeAttendanceNumber" : "  E1  " , "note": null }},\n'
        f'\t{{ "DeviceIdentifier" : "{DEVICE}" , "EmployeeAttendanceNumber" : "E2" ,'
        f' "Timestamp" : "{old}" , "Status" : 0 }} ,\n'
        f'\n\n {{ "Timestamp" : "{t3}" , "Status" : 0 , "DeviceIdentifier" : "{DEVICE}" ,'
        f' "EmployeeAttendanceNumber" : "E2" }}\n'
        "]  \n\n"
    ).encode()
    json.loads(body)  # the test's own body must be valid JSON

    response = raw_request(live.port, post_request(body, live.world.ingest_key))

    assert response.status == 200, response.body
    payload = response.json()
    assert payload["succeeded"] is True
    assert counts(payload) == {
        "logsReceived": 5,
        "logsAccepted": 4,
        "logsDuplicate": 1,
        "logsUnmatched": 1,
        "logsRejected": 1,
    }
    [rejected] = payload["data"]["rejected"]
    assert (rejected["index"], rejected["reason"]) == (3, "too_old")
    assert scalar(live.db, "SELECT count(*) FROM punches") == 3
    numbers = query(live.db, "SELECT employee_number, status FROM punches ORDER BY punched_at")
    assert numbers == [("E1", 1), ("X-404", 0), ("E2", 0)]


# --------------------------------------------------------------------------------------------
# (b) one log per request, 50 in a row over one keep-alive connection
# --------------------------------------------------------------------------------------------


def test_fifty_single_log_requests_on_one_keep_alive_connection(live: LiveWorld) -> None:
    now = local_now()
    logs = [
        log(("E1", "E2", "E3")[i % 3], at=now - timedelta(minutes=60 - i), status=i % 2)
        for i in range(50)
    ]
    conn = http.client.HTTPConnection(HOST, live.port, timeout=TIMEOUT)
    headers = {"Content-Type": "application/json", "X-API-Key": live.world.ingest_key}
    try:
        sock = None
        for i, item in enumerate(logs):
            conn.request("POST", "/v1/logs", body=json.dumps([item]), headers=headers)
            response = conn.getresponse()
            payload = json.loads(response.read())
            assert response.status == 200, (i, payload)
            assert not response.will_close, f"server closed the connection after request {i}"
            sock = sock or conn.sock
            assert conn.sock is sock, f"request {i} went over a new connection"
            assert counts(payload) == {
                "logsReceived": 1,
                "logsAccepted": 1,
                "logsDuplicate": 0,
                "logsUnmatched": 0,
                "logsRejected": 0,
            }, (i, payload)

        # The same connection once more: all 50 again, in one request, are all duplicates.
        conn.request("POST", "/v1/logs", body=json.dumps(logs), headers=headers)
        response = conn.getresponse()
        payload = json.loads(response.read())
        assert response.status == 200, payload
        assert conn.sock is sock
    finally:
        conn.close()
    assert counts(payload) == {
        "logsReceived": 50,
        "logsAccepted": 50,
        "logsDuplicate": 50,
        "logsUnmatched": 0,
        "logsRejected": 0,
    }
    assert scalar(live.db, "SELECT count(*) FROM punches") == 50


# --------------------------------------------------------------------------------------------
# (c) the Keka success (and failure) shape
# --------------------------------------------------------------------------------------------


def test_keka_success_and_failure_shapes(live: LiveWorld) -> None:
    with httpx.Client(base_url=live.base_url, timeout=TIMEOUT) as client:
        ok = client.post(
            "/v1/logs",
            content=json.dumps([log("E1"), log("E2", minutes_ago=3, status=1)]),
            headers={"Content-Type": "application/json", "X-API-Key": live.world.ingest_key},
        )
        missing = client.post(
            "/v1/logs", content=b"[]", headers={"Content-Type": "application/json"}
        )

    assert ok.status_code == 200
    assert ok.headers["content-type"].split(";")[0] == "application/json"
    body = json.loads(ok.content)
    assert body["succeeded"] is True
    data = body["data"]
    for name in ("logsReceived", "logsAccepted"):
        assert type(data[name]) is int, (name, data[name])
    assert (data["logsReceived"], data["logsAccepted"]) == (2, 2)
    assert data["logsReceived"] == data["logsAccepted"] + data["logsRejected"]

    assert missing.status_code == 401
    assert json.loads(missing.content) == {
        "errors": ["Missing X-API-Key header"],
        "succeeded": False,
    }


# --------------------------------------------------------------------------------------------
# (d) keys issued and revoked by the CLI while the server runs
# --------------------------------------------------------------------------------------------


def test_cli_issued_key_works_at_once_and_revocation_takes_effect_on_next_request(
    live: LiveWorld,
) -> None:
    issued = run_cli_json(live.db.url, "key", "issue", "acme", "--label", "rotation")
    key, key_id = issued["key"], issued["id"]
    assert key.startswith("plk_")
    assert issued["scope"] == "ingest"

    first = post_json(live, [log("E1", minutes_ago=7)], key=key)
    assert first.status == 200, first.body
    assert first.json()["data"]["logsAccepted"] == 1
    # Rotation: the old key works alongside the new one.
    old = post_json(live, [log("E2", minutes_ago=7)])
    assert old.status == 200, old.body

    revoked = run_cli_json(live.db.url, "key", "revoke", key_id)
    assert revoked["id"] == key_id
    assert revoked["active"] is False

    after = post_json(live, [log("E1", minutes_ago=6)], key=key)
    assert after.status == 401, after.body
    assert after.json() == {"errors": ["Invalid API key"], "succeeded": False}
    assert scalar(live.db, "SELECT count(*) FROM punches") == 2
    # The other key is untouched.
    still = post_json(live, [log("E3", minutes_ago=6)])
    assert still.status == 200, still.body


# --------------------------------------------------------------------------------------------
# (e) 413 for a 3 MiB body
# --------------------------------------------------------------------------------------------

MIB = 1024 * 1024
BIG = 3 * MIB


def _send_quietly(sock: socket.socket, parts: list[bytes], stop: threading.Event) -> None:
    """Send ``parts`` until done, told to stop, or the server hangs up on us."""
    try:
        for part in parts:
            if stop.is_set():
                return
            sock.sendall(part)
    except OSError:
        pass  # the server answered and closed: expected


def _big_request(live: LiveWorld, head: str, parts: list[bytes]) -> RawResponse:
    stop = threading.Event()
    with socket.create_connection((HOST, live.port), timeout=TIMEOUT) as sock:
        sock.sendall(head.encode("latin-1"))
        writer = threading.Thread(target=_send_quietly, args=(sock, parts, stop), daemon=True)
        writer.start()
        try:
            return read_response(sock)
        finally:
            stop.set()
            with contextlib.suppress(OSError):  # the server may have hung up already
                sock.shutdown(socket.SHUT_RDWR)
            writer.join(TIMEOUT)
            assert not writer.is_alive()


def _head(live: LiveWorld, framing: str) -> str:
    return (
        "POST /v1/logs HTTP/1.1\r\n"
        f"Host: {HOST}\r\n"
        "Content-Type: application/json\r\n"
        f"X-API-Key: {live.world.ingest_key}\r\n"
        f"{framing}\r\n"
        "Connection: close\r\n"
        "\r\n"
    )


def _assert_413(response: RawResponse) -> None:
    assert response.status == 413, response.body[:500]
    payload = response.json()
    assert payload["succeeded"] is False
    assert payload["errors"]
    assert all(isinstance(e, str) for e in payload["errors"])
    assert response.headers.get("x-request-id")


def test_three_mib_body_gets_413_and_server_keeps_answering(live: LiveWorld) -> None:
    body = b"[" + b" " * (BIG - 2) + b"]"
    chunks = [body[i : i + 64 * 1024] for i in range(0, len(body), 64 * 1024)]

    # Declared with Content-Length, the body sent in full (alongside our read).
    _assert_413(_big_request(live, _head(live, f"Content-Length: {BIG}"), chunks))

    # Declared, and never sent: the server must answer from the header alone.
    _assert_413(_big_request(live, _head(live, f"Content-Length: {BIG}"), []))

    # Chunked (no length declared): 2.25 MiB sent, then we stall. The server must stop at
    # the limit and answer, not wait for the rest of the 3 MiB.
    framed = [b"%x\r\n%s\r\n" % (len(c), c) for c in chunks]
    sent_before_stall = framed[: (2 * MIB + MIB // 4) // (64 * 1024)]
    _assert_413(_big_request(live, _head(live, "Transfer-Encoding: chunked"), sent_before_stall))

    assert readyz_status(live.port) == 200
    after = post_json(live, [log("E1")])
    assert after.status == 200, after.body
    assert after.json()["data"]["logsAccepted"] == 1
    assert scalar(live.db, "SELECT count(*) FROM punches") == 1


# --------------------------------------------------------------------------------------------
# (f) X-Request-Id
# --------------------------------------------------------------------------------------------


def test_every_response_carries_x_request_id(live: LiveWorld) -> None:
    ok = post_json(live, [log("E1")], **{"X-Request-Id": "device-42.batch:7"})
    assert ok.status == 200
    assert ok.headers["x-request-id"] == "device-42.batch:7"

    denied = post_json(live, [log("E1")], key="plk_nope", **{"X-Request-Id": "retry-1"})
    assert denied.status == 401
    assert denied.headers["x-request-id"] == "retry-1"

    generated = [post_json(live, [log("E2")]).headers.get("x-request-id") for _ in range(2)]
    assert all(generated), generated
    assert generated[0] != generated[1]

    insane = post_json(live, [log("E3")], **{"X-Request-Id": "two words"})
    assert insane.status == 200
    assert insane.headers["x-request-id"] not in ("", "two words")

    health = raw_request(
        live.port, f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
    )
    assert health.status == 200
    assert re.fullmatch(r"[A-Za-z0-9._:@/+=-]{1,128}", health.headers["x-request-id"])

    not_allowed = raw_request(
        live.port,
        f"GET /v1/logs HTTP/1.1\r\nHost: {HOST}\r\nX-Request-Id: abc\r\n"
        "Connection: close\r\n\r\n".encode(),
    )
    assert not_allowed.status == 405
    assert not_allowed.headers.get("allow") == "POST"
    assert not_allowed.headers["x-request-id"] == "abc"


# --------------------------------------------------------------------------------------------
# (g) no raw key at rest
# --------------------------------------------------------------------------------------------


def _dump_database(live: LiveWorld) -> str:
    """Every value of every row of every table, as text."""
    engine = live.db.engine()
    try:
        tables = inspect(engine).get_table_names()
        assert {"api_keys", "punches", "rejected_logs"} <= set(tables), tables
        parts = []
        with engine.connect() as conn:
            for table in tables:
                rows = conn.exec_driver_sql(f'SELECT * FROM "{table}"').all()
                parts.extend(repr(tuple(row)) for row in rows)
        return "\n".join(parts)
    finally:
        engine.dispose()


def test_no_raw_key_is_stored(live: LiveWorld) -> None:
    world = live.world
    issued = run_cli_json(live.db.url, "key", "issue", "acme", "--scope", "ingest")
    keys = [world.ingest_key, world.read_key, world.admin_key, issued["key"]]

    # Built once: the same logs sent with both keys (a log built again a second later would be
    # another log, with another timestamp).
    bad = {**log("E1"), "Status": 7}  # rejected: its raw item is kept
    batch = [log("E1", minutes_ago=4), log("Z9"), bad]
    for key in (world.ingest_key, issued["key"]):
        response = post_json(live, batch, key=key)
        assert response.status == 200, response.body
        assert response.json()["data"]["logsRejected"] == 1
    wrong_scope = post_json(live, [log("E2")], key=world.read_key)
    assert wrong_scope.status == 403
    assert post_json(live, [log("E2")], key=world.admin_key).status == 403

    hashes = {row[0] for row in query(live.db, "SELECT key_hash FROM api_keys")}
    assert hashes == {hashlib.sha256(k.encode()).hexdigest() for k in keys}
    assert scalar(live.db, "SELECT count(*) FROM rejected_logs") == 1
    assert scalar(live.db, "SELECT count(*) FROM punches") == 2

    dump = _dump_database(live)
    assert "Z9" in dump  # the dump does see what was pushed
    for key in keys:
        assert key not in dump
        assert key.rsplit("_", 1)[1][:16] not in dump  # nor the secret part

    if live.db.path is not None:  # the SQLite file itself, its WAL and shared memory
        files = [p for p in live.db.path.parent.glob(live.db.path.name + "*") if p.is_file()]
        raw = b"".join(p.read_bytes() for p in files)
        assert b"Z9" in raw
        for key in keys:
            assert key.encode() not in raw
            assert key.rsplit("_", 1)[1][:16].encode() not in raw
