"""The one place the exception tree (``punchlog.errors``) becomes HTTP answers.

No stack trace ever reaches a client: an unexpected error is logged with its request id and
answered with a plain 500 envelope.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from punchlog.api.responses import failure
from punchlog.errors import PunchlogError, RateLimited, StorageUnavailable

log = logging.getLogger("punchlog.api")

_HTTP_MESSAGES = {
    404: "Not found",
    405: "Method not allowed",
}


async def _punchlog_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PunchlogError)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers.update(exc.headers)
        headers["Retry-After"] = str(exc.retry_after_seconds)
    elif isinstance(exc, StorageUnavailable):
        headers["Retry-After"] = "1"
        log.error("storage unavailable (request %s)", getattr(request.state, "request_id", "-"))
    return failure(request, exc.status_code, [str(exc)], headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    return failure(request, exc.status_code, [message], dict(exc.headers or {}))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    messages = []
    for error in exc.errors()[:20]:
        where = ".".join(str(part) for part in error.get("loc", ()))
        messages.append(f"{where}: {error.get('msg', 'invalid')}")
    return failure(request, 400, messages or ["Invalid request"])


async def _unexpected(request: Request, exc: Exception) -> Response:
    request_id = getattr(request.state, "request_id", "-")
    log.exception("unhandled error (request %s)", request_id, exc_info=exc)
    return failure(
        request,
        500,
        [f"Internal server error (request {request_id})"],
        {"X-Request-Id": request_id},
    )


async def error_response(request: Request, exc: Exception) -> Response:
    """The answer to ``exc`` for a handler called outside the framework's own exception
    handling (the ingest fast path in api.app): the same envelopes as the handlers below."""
    if isinstance(exc, PunchlogError):
        return await _punchlog_error(request, exc)
    return await _unexpected(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PunchlogError, _punchlog_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
