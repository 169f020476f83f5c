"""Per-key token buckets (in process). Issue 5 shares them across workers on PostgreSQL."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from punchlog.errors import RateLimited


class RateLimiter:
    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key_id: int) -> None:
        """Take one token for ``key_id``, or raise :class:`RateLimited` with Retry-After."""
        if self.rate <= 0:
            return
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key_id] = (tokens, now)
                raise RateLimited(max(1, math.ceil((1.0 - tokens) / self.rate)))
            self._buckets[key_id] = (tokens - 1.0, now)
            if len(self._buckets) > 100_000:  # bound memory: forget idle keys
                self._buckets.clear()
