"""Per-key token buckets: ``rate`` requests per second on average, ``burst`` at once.

Each tenant may set its own rate and burst (``punchlog tenant set --rate-limit``); otherwise
the server's ``PUNCHLOG_RATE_LIMIT_PER_SECOND`` / ``_BURST`` apply, and a rate of 0 turns
limiting off. On PostgreSQL the buckets are rows (storage.ratelimits), shared by every worker
and server process; on SQLite (one server process) they live in memory.

Every answer carries the IETF draft's ``RateLimit-Policy`` and ``RateLimit`` fields
(draft-ietf-httpapi-ratelimit-headers): the quota is the burst, its window the time an empty
bucket takes to fill, ``r`` the whole tokens left and ``t`` the seconds until it is full.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from punchlog.errors import RateLimited
from punchlog.services.keys import Principal
from punchlog.services.store import Store
from punchlog.storage import ratelimits as bucket_rows

_POLICY = '"per-key"'


@dataclass(frozen=True, slots=True)
class Quota:
    limit: int  # the burst: requests a full bucket allows at once
    window: int  # seconds an empty bucket takes to fill
    remaining: int  # whole tokens left after this request
    reset: int  # seconds until the bucket is full again

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f"{_POLICY};q={self.limit};w={self.window}",
            "RateLimit": f"{_POLICY};r={self.remaining};t={self.reset}",
        }


def _quota(tokens: float, rate: float, burst: int) -> Quota:
    return Quota(
        limit=burst,
        window=max(1, math.ceil(burst / rate)),
        remaining=max(0, math.floor(tokens)),
        reset=max(0, math.ceil((burst - tokens) / rate)),
    )


class RateLimiter:
    def __init__(
        self,
        store: Store,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.shared = not store.is_sqlite  # PostgreSQL: buckets in the database
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def limits_for(self, principal: Principal) -> tuple[float, int]:
        rate = principal.rate_limit_per_second
        burst = principal.rate_limit_burst
        return (
            self.rate if rate is None else rate,
            self.burst if burst is None else burst,
        )

    def needs_database(self, principal: Principal) -> bool:
        """Whether :meth:`hit` makes a database round trip (a limited key on PostgreSQL)."""
        return self.shared and self.limits_for(principal)[0] > 0

    def hit(self, principal: Principal) -> Quota | None:
        """Take one token for the principal's key; the quota left (``None`` when its tenant
        is not limited), or :class:`RateLimited` with ``Retry-After`` and the quota. On
        PostgreSQL this is a database round trip: call it off the event loop."""
        rate, burst = self.limits_for(principal)
        if rate <= 0:
            return None
        if self.shared:
            with self.store.write() as conn:
                tokens, taken = bucket_rows.take_token(
                    conn, key_id=principal.key_id, rate=rate, burst=burst
                )
        else:
            tokens, taken = self._take_in_process(principal.key_id, rate, burst)
        quota = _quota(tokens, rate, burst)
        if not taken:
            retry_after = max(1, math.ceil((1.0 - tokens) / rate))
            raise RateLimited(retry_after, quota.headers())
        return quota

    def _take_in_process(self, key_id: int, rate: float, burst: int) -> tuple[float, bool]:
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            taken = tokens >= 1.0
            if taken:
                tokens -= 1.0
            self._buckets[key_id] = (tokens, now)
            if len(self._buckets) > 100_000:  # bound memory: forget idle keys
                self._buckets.clear()
        return tokens, taken
