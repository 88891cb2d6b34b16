"""Token-bucket rate limits keyed by any string (client address, username, user id)."""

from __future__ import annotations

from dataclasses import dataclass

from metaverse.clock import Clock


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_s: float


class RateLimiter:
    """Allows `burst` attempts at once, refilled at `rate_per_s`.

    Buckets that have refilled completely are forgotten, so memory is bounded by the
    number of keys active within one refill period.
    """

    def __init__(self, *, rate_per_s: float, burst: int, clock: Clock, max_keys: int = 100_000):
        self._rate_per_s = rate_per_s
        self._burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self._rate_per_s > 0

    def try_acquire(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until one is free."""
        if not self.enabled:
            return 0.0
        now_s = self._clock.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._evict_full(now_s)
            bucket = self._buckets[key] = _Bucket(float(self._burst), now_s)
        else:
            elapsed_s = now_s - bucket.updated_s
            bucket.tokens = min(self._burst, bucket.tokens + elapsed_s * self._rate_per_s)
            bucket.updated_s = now_s
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self._rate_per_s

    def _evict_full(self, now_s: float) -> None:
        refill_s = self._burst / self._rate_per_s
        stale = [k for k, b in self._buckets.items() if now_s - b.updated_s >= refill_s]
        for key in stale:
            del self._buckets[key]
        if len(self._buckets) >= self._max_keys:
            # Still full: drop the oldest rather than grow without bound.
            oldest = min(self._buckets, key=lambda k: self._buckets[k].updated_s)
            del self._buckets[oldest]
