"""``POST /v1/logs``: every row of the spec's request table, the error envelope, problem
details and request ids. Runs on SQLite and PostgreSQL (``world`` is parametrised)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from punchlog.api.app import create_app
from punchlog.domain import keys as key_format
from punchlog.services import keys
from punchlog.services.store import Store
from punchlog.settings import Settings
from punchlog.storage import punches as punch_rows
from punchlog.storage.database import READONLY
from punchlog.storage.tables import ingest_requests
from tests.api.conftest import MakeClient, Stored
from tests.support.world import World, log

URL = "/v1/logs"
NOTHING = Stored(punches=0, requests=0, rejected=0)
INVALID_KEY = {"errors": ["Invalid API key"], "succeeded": False}


def assert_envelope(response: httpx.Response, status: int) -> list[str]:
    """The compat error envelope, exactly: ``{"errors": [str, ...], "succeeded": false}``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"errors", "succeeded"}
    assert body["succeeded"] is False
    assert isinstance(body["errors"], list)
    assert body["errors"]
    assert all(isinstance(m, str) and m for m in body["errors"])
    return list(body["errors"])


def raw(items: object) -> bytes:
    return orjson.dumps(items)


# --- method --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_with_allow_post(
    client: TestClient, world: World, stored: Callable[[], Stored], method: str
) -> None:
    response = client.request(
        method,
        URL,
        headers={"X-API-Key": world.ingest_key, "Content-Type": "application/json"},
        content=raw([log()]),
    )
    assert_envelope(response, 405)
    assert response.headers["allow"] == "POST"
    assert "x-request-id" in response.headers
    assert stored() == NOTHING


# --- authentication and scope --------------------------------------------------------------


def test_missing_key_is_401(client: TestClient, world: World, stored: Callable[[], Stored]) -> None:
    response = client.post(URL, json=[log()])
    assert assert_envelope(response, 401) == ["Missing X-API-Key header"]
    assert stored() == NOTHING


def test_empty_key_is_401_missing(
    client: TestClient, world: World, stored: Callable[[], Stored]
) -> None:
    response = client.post(URL, json=[log()], headers={"X-API-Key": ""})
    assert assert_envelope(response, 401) == ["Missing X-API-Key header"]
    assert stored() == NOTHING


def _unknown_key() -> str:
    """Well formed, right checksum, but never issued."""
    public_id = "".join(secrets.choice(key_format.PUBLIC_ALPHABET) for _ in range(10))
    secret = "".join(secrets.choice(key_format.BASE62) for _ in range(32))
    return key_format.format_key(public_id, secret)


def _wrong_checksum(key: str) -> str:
    last = key[-1]
    return key[:-1] + ("A" if last != "A" else "B")


def _wrong_secret(key: str) -> str:
    """The right public id (a real row) but another secret, with a valid checksum."""
    parsed = key_format.parse_key(key)
    assert parsed is not None
    secret = "".join(secrets.choice(key_format.BASE62) for _ in range(32))
    return key_format.format_key(parsed.public_id, secret)


def _revoked(client: TestClient, store: Store, world: World) -> str:
    issued = keys.issue_key(store, world.slug, scope="ingest", label="to revoke")
    response = client.post(
        f"/v1/admin/keys/{issued.id}/revoke", headers={"X-API-Key": world.admin_key}
    )
    assert response.status_code == 200, response.text
    return issued.key


def _revoked_by_service(client: TestClient, store: Store, world: World) -> str:
    issued = keys.issue_key(store, world.slug, scope="ingest")
    keys.revoke_key(store, issued.id)
    return issued.key


def _expired(client: TestClient, store: Store, world: World) -> str:
    past = datetime.now(UTC) - timedelta(minutes=1)
    return keys.issue_key(store, world.slug, scope="ingest", expires_at=past).key


BAD_KEYS: dict[str, Callable[[TestClient, Store, World], str]] = {
    "unknown": lambda c, s, w: _unknown_key(),
    "malformed": lambda c, s, w: "not-a-key",
    "malformed-prefix": lambda c, s, w: "xyz_" + w.ingest_key[4:],
    "truncated": lambda c, s, w: w.ingest_key[:-1],
    "wrong-checksum": lambda c, s, w: _wrong_checksum(w.ingest_key),
    "wrong-secret": lambda c, s, w: _wrong_secret(w.ingest_key),
    "revoked-admin-api": _revoked,
    "revoked-service": _revoked_by_service,
    "expired": _expired,
}


@pytest.mark.parametrize("kind", list(BAD_KEYS))
def test_every_bad_key_gets_the_same_401(
    client: TestClient,
    store: Store,
    world: World,
    stored: Callable[[], Stored],
    kind: str,
) -> None:
    bad = BAD_KEYS[kind](client, store, world)
    response = client.post(URL, json=[log()], headers={"X-API-Key": bad})
    assert response.status_code == 401
    assert response.json() == INVALID_KEY  # one message for all: no hint which
    assert stored() == NOTHING


def test_bad_keys_are_indistinguishable(client: TestClient, store: Store, world: World) -> None:
    answers = set()
    for make in BAD_KEYS.values():
        response = client.post(URL, json=[log()], headers={"X-API-Key": make(client, store, world)})
        answers.add((response.status_code, response.content))
    assert answers == {(401, orjson.dumps(INVALID_KEY))}


def test_a_key_expiring_later_still_works(
    client: TestClient, store: Store, world: World, stored: Callable[[], Stored]
) -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    key = keys.issue_key(store, world.slug, scope="ingest", expires_at=later).key
    response = client.post(URL, json=[log()], headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    assert stored().punches == 1


@pytest.mark.parametrize("scope", ["read", "admin"])
def test_keys_without_ingest_scope_are_403(
    client: TestClient, world: World, stored: Callable[[], Stored], scope: str
) -> None:
    key = world.read_key if scope == "read" else world.admin_key
    response = client.post(URL, json=[log()], headers={"X-API-Key": key})
    assert_envelope(response, 403)
    assert stored() == NOTHING


# --- content type --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonp",
        "multipart/form-data; boundary=x",
        None,
    ],
)
def test_a_body_that_is_not_json_typed_is_415(
    client: TestClient,
    world: World,
    stored: Callable[[], Stored],
    content_type: str | None,
) -> None:
    headers = {"X-API-Key": world.ingest_key}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = client.post(URL, content=raw([log()]), headers=headers)
    if content_type is None:
        assert "content-type" not in response.request.headers
    assert_envelope(response, 415)
    assert stored() == NOTHING


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON"],
)
def test_json_with_parameters_is_accepted(
    client: TestClient,
    world: World,
    stored: Callable[[], Stored],
    content_type: str,
) -> None:
    headers = {"X-API-Key": world.ingest_key, "Content-Type": content_type}
    response = client.post(URL, content=raw([log()]), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["logsAccepted"] == 1
    assert stored().punches == 1


# --- body size -----------------------------------------------------------------------------


def _body_of_size(size: int) -> bytes:
    """A valid JSON array of logs padded with whitespace to exactly ``size`` bytes."""
    body = raw([log()])
    assert len(body) < size
    return body[:-1] + b" " * (size - len(body)) + b"]"


def test_a_body_at_the_limit_is_read(
    make_client: MakeClient, ingest_headers: dict[str, str], stored: Callable[[], Stored]
) -> None:
    client = make_client(max_body_bytes=1024)
    response = client.post(URL, content=_body_of_size(1024), headers=ingest_headers)
    assert response.status_code == 200, response.text
    assert stored().punches == 1


def test_a_declared_body_over_the_limit_is_413(
    make_client: MakeClient, ingest_headers: dict[str, str], stored: Callable[[], Stored]
) -> None:
    client = make_client(max_body_bytes=1024)
    response = client.post(URL, content=_body_of_size(1025), headers=ingest_headers)
    messages = assert_envelope(response, 413)
    assert "1024" in messages[0]
    assert stored() == NOTHING


def test_a_chunked_body_over_the_limit_is_413(
    make_client: MakeClient, ingest_headers: dict[str, str], stored: Callable[[], Stored]
) -> None:
    client = make_client(max_body_bytes=1024)
    body = _body_of_size(4096)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 256):
            yield body[start : start + 256]

    response = client.post(URL, content=chunks(), headers=ingest_headers)
    assert "content-length" not in response.request.headers  # really sent without a length
    assert_envelope(response, 413)
    assert stored() == NOTHING


def test_a_streamed_body_is_read_no_further_than_the_limit(
    settings: Settings, store: Store, ingest_headers: dict[str, str], stored: Callable[[], Stored]
) -> None:
    """A client streaming an endless body gets 413 after about ``max_body_bytes``."""
    tuned = Settings(**{**settings.model_dump(), "max_body_bytes": 1024})
    app = create_app(tuned, store=store)
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b"["
        while sent < 10 * 1024 * 1024:  # ten megabytes at most, should the limit not hold
            piece = b" " * 256
            sent += len(piece)
            yield piece

    async def push() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(URL, content=endless(), headers=ingest_headers)

    response = asyncio.run(push())
    assert_envelope(response, 413)
    assert sent <= 1024 + 256 * 2
    assert stored() == NOTHING


# --- body content --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "line", "column"),
    [
        (b'[{"DeviceIdentifier": "x",}]', 1, None),
        (b'[\n  {"Status": 0\n  ,,}\n]', 3, None),
        (b"[", 1, None),
        (b"", 1, None),
        (b"not json", 1, 1),
    ],
)
def test_invalid_json_is_400_saying_where(
    client: TestClient,
    ingest_headers: dict[str, str],
    stored: Callable[[], Stored],
    body: bytes,
    line: int,
    column: int | None,
) -> None:
    response = client.post(URL, content=body, headers=ingest_headers)
    message = assert_envelope(response, 400)[0]
    assert "JSON" in message
    assert f"line {line}" in message
    assert "column" in message
    if column is not None:
        assert f"column {column}" in message
    assert stored() == NOTHING


@pytest.mark.parametrize(
    "body",
    [
        b'[{"EmployeeAttendanceNumber": "\xff\xfe"}]',
        b'["\xc3\x28"]',
        b"\xef\xbb\xbf\xff[]",
    ],
)
def test_invalid_utf8_is_400(
    client: TestClient, ingest_headers: dict[str, str], stored: Callable[[], Stored], body: bytes
) -> None:
    response = client.post(URL, content=body, headers=ingest_headers)
    message = assert_envelope(response, 400)[0]
    assert "line" in message
    assert "column" in message
    assert stored() == NOTHING


@pytest.mark.parametrize("body", [{"logs": []}, log(), "text", 42, None, True])
def test_a_top_level_that_is_not_an_array_is_400(
    client: TestClient, ingest_headers: dict[str, str], stored: Callable[[], Stored], body: Any
) -> None:
    response = client.post(URL, content=raw(body), headers=ingest_headers)
    assert assert_envelope(response, 400) == ["Request body must be a JSON array of logs"]
    assert stored() == NOTHING


def test_an_empty_array_is_400(
    client: TestClient, ingest_headers: dict[str, str], stored: Callable[[], Stored]
) -> None:
    response = client.post(URL, content=b"[ ]", headers=ingest_headers)
    assert_envelope(response, 400)
    assert stored() == NOTHING


def test_1001_logs_are_400_stating_the_limit_and_the_count(
    client: TestClient, ingest_headers: dict[str, str], stored: Callable[[], Stored]
) -> None:
    items = [log(f"E{i}", minutes_ago=10 + i % 600) for i in range(1001)]
    response = client.post(URL, content=raw(items), headers=ingest_headers)
    message = assert_envelope(response, 400)[0]
    assert "1000" in message
    assert "1001" in message
    assert stored() == NOTHING


def test_1000_logs_are_accepted(
    client: TestClient, ingest_headers: dict[str, str], stored: Callable[[], Stored]
) -> None:
    items = [log(f"N{i}", minutes_ago=10) for i in range(1000)]
    response = client.post(URL, content=raw(items), headers=ingest_headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["logsReceived"], data["logsAccepted"], data["logsRejected"]) == (1000, 1000, 0)
    assert stored().punches == 1000


def test_the_log_limit_is_configurable(
    make_client: MakeClient, ingest_headers: dict[str, str], stored: Callable[[], Stored]
) -> None:
    client = make_client(max_logs_per_request=3)
    items = [log(f"E{i}") for i in range(4)]
    message = assert_envelope(client.post(URL, content=raw(items), headers=ingest_headers), 400)[0]
    assert "3" in message
    assert "4" in message
    assert stored() == NOTHING
    ok = client.post(URL, content=raw(items[:3]), headers=ingest_headers)
    assert ok.status_code == 200, ok.text
    assert stored().punches == 3


# --- rate limit ----------------------------------------------------------------------------


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(
    make_client: MakeClient,
    store: Store,
    world: World,
    ingest_headers: dict[str, str],
    stored: Callable[[], Stored],
) -> None:
    client = make_client(rate_limit_per_second=1, rate_limit_burst=2)
    first = client.post(URL, content=raw([log("E1", minutes_ago=11)]), headers=ingest_headers)
    second = client.post(URL, content=raw([log("E1", minutes_ago=12)]), headers=ingest_headers)
    assert (first.status_code, second.status_code) == (200, 200)
    third = client.post(URL, content=raw([log("E1", minutes_ago=13)]), headers=ingest_headers)
    assert_envelope(third, 429)
    assert int(third.headers["retry-after"]) >= 1
    assert "x-request-id" in third.headers
    assert stored().punches == 2  # the limited request stored nothing

    other = keys.issue_key(store, world.slug, scope="ingest").key  # the limit is per key
    fresh = client.post(
        URL,
        content=raw([log("E1", minutes_ago=14)]),
        headers={**ingest_headers, "X-API-Key": other},
    )
    assert fresh.status_code == 200, fresh.text


def test_the_rate_limit_answers_problem_json_with_retry_after(
    make_client: MakeClient, ingest_headers: dict[str, str]
) -> None:
    client = make_client(rate_limit_per_second=1, rate_limit_burst=2)
    headers = {**ingest_headers, "Accept": "application/problem+json"}
    statuses = [
        client.post(URL, content=raw([log("E1", minutes_ago=20 + i)]), headers=headers)
        for i in range(3)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    limited = statuses[2]
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert limited.json()["status"] == 429
    assert int(limited.headers["retry-after"]) >= 1


# --- envelope, problem details, request ids ------------------------------------------------

ERROR_CASES: dict[str, tuple[str, dict[str, str], bytes, int]] = {
    "405": ("GET", {"X-API-Key": "@ingest"}, b"", 405),
    "401-missing": ("POST", {"Content-Type": "application/json"}, b"[]", 401),
    "401-invalid": ("POST", {"X-API-Key": "nope", "Content-Type": "application/json"}, b"[]", 401),
    "403": ("POST", {"X-API-Key": "@read", "Content-Type": "application/json"}, b"[]", 403),
    "415": ("POST", {"X-API-Key": "@ingest", "Content-Type": "text/plain"}, b"[]", 415),
    "400-json": ("POST", {"X-API-Key": "@ingest", "Content-Type": "application/json"}, b"[", 400),
    "400-empty": ("POST", {"X-API-Key": "@ingest", "Content-Type": "application/json"}, b"[]", 400),
    "413": (
        "POST",
        {"X-API-Key": "@ingest", "Content-Type": "application/json"},
        b"[" + b" " * 3000 + b"]",
        413,
    ),
}


def _error_request(
    make_client: MakeClient, world: World, case: str, extra: dict[str, str]
) -> httpx.Response:
    method, headers, body, _ = ERROR_CASES[case]
    real = {"@ingest": world.ingest_key, "@read": world.read_key}
    sent = {k: real.get(v, v) for k, v in headers.items()}
    client = make_client(max_body_bytes=2048)
    return client.request(method, URL, content=body, headers={**sent, **extra})


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_every_error_is_the_envelope(make_client: MakeClient, world: World, case: str) -> None:
    response = _error_request(make_client, world, case, {})
    assert_envelope(response, ERROR_CASES[case][3])


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_problem_details_on_request(make_client: MakeClient, world: World, case: str) -> None:
    status = ERROR_CASES[case][3]
    response = _error_request(make_client, world, case, {"Accept": "application/problem+json"})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert isinstance(body["type"], str)
    assert body["type"]
    assert isinstance(body["title"], str)
    assert body["title"]
    assert body["status"] == status
    assert isinstance(body["detail"], str)
    assert body["detail"]


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_every_error_carries_and_echoes_a_request_id(
    make_client: MakeClient, world: World, case: str
) -> None:
    generated = _error_request(make_client, world, case, {})
    assert generated.headers.get("x-request-id")
    echoed = _error_request(make_client, world, case, {"X-Request-Id": "client-req-42"})
    assert echoed.headers["x-request-id"] == "client-req-42"


def test_success_carries_a_request_id_and_records_it(
    client: TestClient, store: Store, ingest_headers: dict[str, str], tenant_id: int
) -> None:
    first = client.post(URL, content=raw([log("E1")]), headers=ingest_headers)
    assert first.status_code == 200
    assert first.headers.get("x-request-id")
    echoed = client.post(
        URL, content=raw([log("E2")]), headers={**ingest_headers, "X-Request-Id": "abc-123_x.y"}
    )
    assert echoed.status_code == 200
    assert echoed.headers["x-request-id"] == "abc-123_x.y"
    assert first.headers["x-request-id"] != echoed.headers["x-request-id"]
    with store.read() as conn:
        recorded = {
            r["request_id"]
            for r in conn.execute(
                ingest_requests.select().where(ingest_requests.c.tenant_id == tenant_id)
            ).mappings()
        }
    assert recorded == {first.headers["x-request-id"], "abc-123_x.y"}


@pytest.mark.parametrize("insane", ["x" * 500, "has spaces in it", "semi;colon", "ünïcode"])
def test_an_insane_request_id_is_replaced(
    client: TestClient, ingest_headers: dict[str, str], insane: str
) -> None:
    headers: dict[str, Any] = {**ingest_headers, "X-Request-Id": insane.encode("utf-8")}
    for body in (raw([log()]), b"{"):
        response = client.post(URL, content=body, headers=headers)
        replaced = response.headers["x-request-id"]
        assert replaced
        assert replaced != insane
        assert " " not in replaced
        assert len(replaced) <= 128


def test_healthz_carries_a_request_id(client: TestClient, world: World) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": "probe-1"})
    assert response.status_code == 200
    assert response.json()["succeeded"] is True
    assert response.headers["x-request-id"] == "probe-1"


def test_nothing_is_stored_by_any_refused_request(
    make_client: MakeClient, world: World, store: Store, tenant_id: int
) -> None:
    for case in ERROR_CASES:
        _error_request(make_client, world, case, {})
    with store.read() as conn:
        assert punch_rows.count_punches(conn, tenant_id=tenant_id) == 0
        rows = conn.execute(ingest_requests.select()).all()
    assert rows == []


def test_an_unknown_path_is_404_in_the_envelope_with_a_request_id(client: TestClient) -> None:
    response = client.get("/v1/nothing-here", headers={"X-Request-Id": "lost-1"})
    assert_envelope(response, 404)
    assert response.headers["x-request-id"] == "lost-1"


# --- storage failure: never a 200 for logs that are not committed --------------------------


def test_a_failed_commit_is_not_acknowledged(
    settings: Settings,
    store: Store,
    ingest_headers: dict[str, str],
    stored: Callable[[], Stored],
) -> None:
    """The database refuses the commit of the batch: 503 (or 500), nothing stored."""

    # Every write transaction's commit fails (the hot path runs its statements through the
    # driver, so the transaction, not a statement, is what is recognised here).
    def mark(conn: Any) -> None:
        if not conn.get_execution_options().get(READONLY, False):
            conn.info["writing"] = True

    def refuse(conn: Any) -> None:
        if conn.info.pop("writing", False):
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    event.listen(store.engine, "begin", mark)
    event.listen(store.engine, "commit", refuse)
    try:
        with TestClient(create_app(settings, store=store), raise_server_exceptions=False) as c:
            response = c.post(URL, content=raw([log()]), headers=ingest_headers)
    finally:
        event.remove(store.engine, "begin", mark)
        event.remove(store.engine, "commit", refuse)
    assert response.status_code in (500, 503)
    assert_envelope(response, response.status_code)
    assert response.headers.get("x-request-id")
    assert stored() == NOTHING
