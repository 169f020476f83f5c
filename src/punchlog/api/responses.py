"""Rendering: the Keka envelope, and RFC 9457 problem details on request."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

PROBLEM = "application/problem+json"
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def json_response(
    body: Any,
    status_code: int = 200,
    media_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        orjson.dumps(body), status_code=status_code, media_type=media_type, headers=headers
    )


def success(data: Any, status_code: int = 200, **extra: Any) -> Response:
    return json_response({"data": data, "succeeded": True, **extra}, status_code)


def wants_problem(request: Request) -> bool:
    return PROBLEM in request.headers.get("accept", "")


def failure(
    request: Request,
    status_code: int,
    messages: list[str],
    headers: dict[str, str] | None = None,
) -> Response:
    """The error envelope ``{"errors": [...], "succeeded": false}``, or problem+json."""
    if wants_problem(request):
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": _TITLES.get(status_code, "Error"),
            "status": status_code,
            "detail": "; ".join(messages),
            "errors": messages,
            "succeeded": False,
        }
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["instance"] = f"urn:request:{request_id}"
        return json_response(body, status_code, PROBLEM, headers)
    return json_response({"errors": messages, "succeeded": False}, status_code, headers=headers)
