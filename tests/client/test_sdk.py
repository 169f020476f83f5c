"""The SDK alone, against httpx.MockTransport handlers."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from punchlog.client.sdk import PunchlogClient, logs_endpoint, parse_retry_after

LOG = {
    "DeviceIdentifier": "4f5b878d-7fe4-4b34-8eed-651b3d20c4c2",
    "EmployeeAttendanceNumber": "007",
    "Timestamp": "2026-12-03T15:43:06",
    "Status": 0,
}
OK_BODY = {"data": {"logsReceived": 1, "logsAccepted": 1}, "succeeded": True}

Handler = Callable[[httpx.Request], httpx.Response]


def recording(response: httpx.Response, seen: list[httpx.Request]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return response

    return handle


def client_for(handler: Handler, **kwargs: float) -> PunchlogClient:
    return PunchlogClient(
        "http://punch.test", "pl_key", transport=httpx.MockTransport(handler), **kwargs
    )


def test_post_logs_sends_key_content_type_and_json_array() -> None:
    seen: list[httpx.Request] = []
    response = httpx.Response(200, json=OK_BODY, headers={"X-Request-Id": "req-1"})
    with client_for(recording(response, seen)) as client:
        result = client.post_logs([LOG])
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "http://punch.test/v1/logs"
    assert request.headers["X-API-Key"] == "pl_key"
    assert request.headers["Content-Type"] == "application/json"
    assert orjson.loads(request.content) == [LOG]
    assert "Idempotency-Key" not in request.headers
    assert result.status_code == 200
    assert result.ok
    assert result.body == OK_BODY
    assert result.data == {"logsReceived": 1, "logsAccepted": 1}
    assert result.request_id == "req-1"
    assert result.retry_after is None


def test_post_logs_sends_idempotency_key_when_given() -> None:
    seen: list[httpx.Request] = []
    with client_for(recording(httpx.Response(200, json=OK_BODY), seen)) as client:
        client.post_logs([LOG], idempotency_key="abc-123")
    assert seen[0].headers["Idempotency-Key"] == "abc-123"


def test_timeout_is_applied_to_requests() -> None:
    seen: list[httpx.Request] = []
    with client_for(recording(httpx.Response(200, json=OK_BODY), seen), timeout=4.5) as client:
        client.post_logs([LOG])
    assert seen[0].extensions["timeout"]["read"] == 4.5


def test_error_envelope_is_returned_not_raised() -> None:
    body = {"errors": ["Invalid API key"], "succeeded": False}
    with client_for(recording(httpx.Response(401, json=body), [])) as client:
        result = client.post_logs([LOG])
    assert result.status_code == 401
    assert not result.ok
    assert result.errors == ["Invalid API key"]
    assert result.data is None


def test_succeeded_false_on_200_is_not_ok() -> None:
    body = {"errors": ["nope"], "succeeded": False}
    with client_for(recording(httpx.Response(200, json=body), [])) as client:
        result = client.post_logs([LOG])
    assert not result.ok
    assert result.errors == ["nope"]


def test_non_json_body_keeps_a_text_snippet() -> None:
    html = "<html>502 Bad Gateway</html>" + "x" * 1000
    with client_for(recording(httpx.Response(502, text=html), [])) as client:
        result = client.post_logs([LOG])
    assert result.body is None
    assert result.errors[0].startswith("<html>502 Bad Gateway</html>")
    assert len(result.errors[0]) <= 200


def test_problem_details_detail_is_the_error() -> None:
    problem = {"type": "about:blank", "title": "Unauthorized", "detail": "Invalid API key"}
    with client_for(recording(httpx.Response(401, json=problem), [])) as client:
        result = client.post_logs([LOG])
    assert result.errors == ["Invalid API key"]


def test_redirect_is_not_followed_and_names_the_target() -> None:
    seen: list[httpx.Request] = []
    response = httpx.Response(308, headers={"Location": "https://punch.test/v1/logs"})
    with client_for(recording(response, seen)) as client:
        result = client.post_logs([LOG])
    assert len(seen) == 1
    assert result.status_code == 308
    assert "https://punch.test/v1/logs" in result.errors[0]


def test_retry_after_header_is_parsed() -> None:
    response = httpx.Response(429, json={"errors": ["slow down"]}, headers={"Retry-After": "12"})
    with client_for(recording(response, [])) as client:
        result = client.post_logs([LOG])
    assert result.retry_after == 12.0


def test_transport_errors_propagate() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with client_for(refuse) as client, pytest.raises(httpx.ConnectError):
        client.post_logs([LOG])


def test_context_manager_closes_the_http_client() -> None:
    with client_for(recording(httpx.Response(200, json=OK_BODY), [])) as client:
        assert not client.closed
    assert client.closed
    with pytest.raises(RuntimeError):
        client.post_logs([LOG])


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("http://h:8080", "http://h:8080/v1/logs"),
        ("http://h:8080/", "http://h:8080/v1/logs"),
        ("http://h:8080/v1/logs", "http://h:8080/v1/logs"),
        ("http://h:8080/v1/logs/", "http://h:8080/v1/logs"),
        ("  https://h/prefix/ ", "https://h/prefix/v1/logs"),
        ("https://h/prefix/v1/logs", "https://h/prefix/v1/logs"),
        ("localhost:8080", "http://localhost:8080/v1/logs"),
    ],
)
def test_logs_endpoint_normalises(url: str, endpoint: str) -> None:
    assert logs_endpoint(url) == endpoint


@pytest.mark.parametrize("url", ["ftp://h/x", "http://", ""])
def test_logs_endpoint_rejects_non_http_urls(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        logs_endpoint(url)


NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5", 5.0),
        (" 12 ", 12.0),
        ("0", 0.0),
        (email.utils.format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        (email.utils.format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0),
        ("Thu, 03 Dec 2026 12:01:00 GMT", 60.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-3", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds
