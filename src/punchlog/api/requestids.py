"""``X-Request-Id`` on every response: the client's, when it sent a sane one, else ours."""

from __future__ import annotations

import os
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from punchlog.logformat import REQUEST_ID
from punchlog.metrics import REQUESTS

_SANE = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def assign_request_id(scope: Scope) -> bytes:
    """The request's id (the client's ``X-Request-Id`` when sane, else a new one), kept in the
    scope's state for the handlers and logs; returned as the header value."""
    sent = None
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            sent = value.decode("latin-1")
            break
    request_id = sent if sent is not None and _SANE.fullmatch(sent) else os.urandom(16).hex()
    scope.setdefault("state", {})["request_id"] = request_id
    REQUEST_ID.set(request_id)  # for the logs of this request's task (punchlog.logformat)
    return request_id.encode("latin-1")


def with_request_id(send: Send, raw: bytes, method: str = "GET") -> Send:
    """``send``, adding ``X-Request-Id: raw`` to the response (replacing any other); the
    response is counted (punchlog.metrics) as it starts."""

    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            REQUESTS.labels(method, str(message["status"])).inc()
            headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
            headers.append((b"x-request-id", raw))
            message["headers"] = headers
        await send(message)

    return send_with_id


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = assign_request_id(scope)
        await self.app(scope, receive, with_request_id(send, raw, scope["method"]))
