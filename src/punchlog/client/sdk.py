"""A tiny synchronous SDK for ``POST /v1/logs`` (Keka-compatible ingestion).

Only the standard library, httpx and orjson are used here: the client must work against any
compatible endpoint and must not depend on the server's packages.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpx
import orjson

ENDPOINT_PATH = "/v1/logs"
USER_AGENT = "punchlog-client/0.1"
_TEXT_SNIPPET = 200


def logs_endpoint(url: str) -> str:
    """Normalise a base URL (``http://h:8080``) or the full endpoint to the endpoint URL.

    A URL without a scheme (``localhost:8080``) is taken as ``http://``. Raises ValueError when
    the result is not an absolute http(s) URL.
    """
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"not an http(s) URL: {url!r}")
    path = parsed.path.rstrip("/")
    if not path.endswith(ENDPOINT_PATH):
        path += ENDPOINT_PATH
    return str(parsed.copy_with(path=path, query=None, fragment=None))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date.

    Returns None when the header is absent or unparseable; never negative.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; be lenient with "-0000"
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


@dataclass(frozen=True)
class PostResult:
    """What one ``POST /v1/logs`` answered."""

    status_code: int
    body: dict[str, Any] | None  # the parsed JSON object, None when absent or not a JSON object
    retry_after: float | None = None  # seconds, parsed from Retry-After
    request_id: str | None = None  # X-Request-Id (ext)
    location: str | None = None  # Location, for a redirect the client does not follow
    text: str = field(default="", repr=False)  # first characters of a non-JSON body

    @property
    def ok(self) -> bool:
        """2xx and, when the envelope says so, ``succeeded``."""
        succeeded = True if self.body is None else self.body.get("succeeded", True)
        return 200 <= self.status_code < 300 and succeeded is not False

    @property
    def errors(self) -> list[str]:
        """Human-readable error messages: the envelope's ``errors``, else a best effort."""
        body = self.body or {}
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return [str(e) for e in errors]
        if isinstance(errors, str):
            return [errors]
        for key in ("detail", "title"):  # RFC 9457 problem details
            if isinstance(body.get(key), str):
                return [body[key]]
        if self.location and 300 <= self.status_code < 400:
            return [f"redirected to {self.location}; use that URL"]
        if self.text.strip():
            return [self.text.strip()]
        return []

    @property
    def data(self) -> dict[str, Any] | None:
        data = (self.body or {}).get("data")
        return data if isinstance(data, dict) else None


class PunchlogClient:
    """Posts batches of logs to a compatible ingestion endpoint.

    ``base_url`` may be the server's base URL or the full ``.../v1/logs`` endpoint.
    Network failures surface as ``httpx.TransportError``; HTTP errors are returned, not raised.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.endpoint = logs_endpoint(base_url)
        self._http = httpx.Client(
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={
                "X-API-Key": api_key,
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
        )

    def post_logs(
        self, logs: list[dict[str, Any]], *, idempotency_key: str | None = None
    ) -> PostResult:
        headers = {"Content-Type": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        response = self._http.post(self.endpoint, content=orjson.dumps(logs), headers=headers)
        return _result(response)

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _result(response: httpx.Response) -> PostResult:
    body: dict[str, Any] | None = None
    text = ""
    try:
        parsed = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        body = parsed
    else:
        text = response.content[:_TEXT_SNIPPET].decode("utf-8", "replace")
    return PostResult(
        status_code=response.status_code,
        body=body,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        request_id=response.headers.get("X-Request-Id"),
        location=response.headers.get("Location"),
        text=text,
    )
