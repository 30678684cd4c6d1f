"""Per-key request rate limit: a token bucket per key, refilled continuously over the hour.

A bucket holds up to `per_hour` requests and refills at `per_hour / 3600` per second,
so bursts up to the hourly allowance pass and a sustained client gets exactly its
rate. `take()` answers how long to wait (the `Retry-After`) when the bucket is empty.
In memory, per process; idle buckets are dropped when the table grows large.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, per_hour: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.per_hour = per_hour
        self._rate = per_hour / 3600.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_hour > 0

    def take(self, key: str) -> int:
        """0 when the request may pass, else the whole seconds until it may (for `Retry-After`)."""
        if not self.enabled:
            return 0
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.per_hour), now))
            tokens = min(float(self.per_hour), tokens + (now - last) * self._rate)
            if tokens >= 1.0:
                self._store(key, tokens - 1.0, now)
                return 0
            self._store(key, tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self._rate))

    def _store(self, key: str, tokens: float, now: float) -> None:
        if key not in self._buckets and len(self._buckets) >= self._max_keys:
            full = [k for k, (t, last) in self._buckets.items() if t + (now - last) * self._rate >= self.per_hour]
            for k in full or list(self._buckets)[: self._max_keys // 10]:
                del self._buckets[k]
        self._buckets[key] = (tokens, now)
