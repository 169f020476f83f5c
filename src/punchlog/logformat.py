"""Structured server logs: one JSON object per line, with the request's id.

``punchlog serve`` writes its own and uvicorn's records through :class:`JsonFormatter` unless
``PUNCHLOG_LOG_FORMAT=text``. The request id is the one answered in ``X-Request-Id``
(api.requestids sets :data:`REQUEST_ID` for the request's task). Nothing secret is logged:
keys travel in headers, which are never logged, and error answers carry no traces.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

REQUEST_ID: ContextVar[str | None] = ContextVar("punchlog_request_id", default=None)

# uvicorn's access records carry these as args: (client, method, path, http version, status).
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            entry.update(zip(_ACCESS_FIELDS, record.args, strict=False))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()
