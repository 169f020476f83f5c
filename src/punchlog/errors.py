"""The one exception hierarchy of punchlog.

    PunchlogError             every error the product raises on purpose
    ├── InvalidInput          a value the caller can fix (bad zone, bad date)      -> 400
    ├── NotFound              no such tenant / device / employee / key             -> 404
    ├── Conflict              it exists already (duplicate slug, number, device)   -> 409
    ├── AuthError                                                                  -> 401
    │   ├── MissingKey        no X-API-Key header
    │   └── InvalidKey        unknown, malformed, revoked or expired key
    ├── Forbidden             the key lacks the scope                              -> 403
    ├── RequestRejected       the request as a whole is refused (status carried)   -> 4xx
    ├── RateLimited           the key's token bucket is empty                      -> 429
    └── StorageUnavailable    the database could not commit                        -> 503

In the CLI every one of them is ``error: <message>`` on stderr and exit status 1.

The API maps this tree to the error envelope in one place (``api/errors.py``); the CLI maps it
to a one-line message on stderr and a non-zero exit status (``cli/output.py``).
"""

from __future__ import annotations


class PunchlogError(Exception):
    """Base of every deliberate error; ``str(err)`` is a message fit for an operator."""

    status_code = 500


class InvalidInput(PunchlogError):
    status_code = 400


class NotFound(PunchlogError):
    status_code = 404


class Conflict(PunchlogError):
    status_code = 409


class AuthError(PunchlogError):
    status_code = 401


class MissingKey(AuthError):
    def __init__(self) -> None:
        super().__init__("Missing X-API-Key header")


class InvalidKey(AuthError):
    def __init__(self) -> None:
        super().__init__("Invalid API key")


class Forbidden(PunchlogError):
    status_code = 403


class RequestRejected(PunchlogError):
    """The whole request is refused with ``status_code`` (400, 413, 415, ...)."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


class RateLimited(PunchlogError):
    status_code = 429

    def __init__(self, retry_after_seconds: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"Rate limit exceeded; retry after {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds
        self.headers = headers or {}  # the RateLimit-Policy / RateLimit fields


class StorageUnavailable(PunchlogError):
    status_code = 503
