"""Token buckets: one for a single stream of actions, and a keyed set of them."""

from __future__ import annotations

from metaverse.clock import Clock


class TokenBucket:
    """Allows `burst` actions at once, refilled at `rate_per_s`. A rate of 0 allows all."""

    __slots__ = ("_burst", "_clock", "_rate_per_s", "tokens", "updated_s")

    def __init__(self, *, rate_per_s: float, burst: int, clock: Clock) -> None:
        self._rate_per_s = rate_per_s
        self._burst = burst
        self._clock = clock
        self.tokens = float(burst)
        self.updated_s = clock.monotonic()

    def try_acquire(self) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is free."""
        if self._rate_per_s <= 0:
            return 0.0
        now_s = self._clock.monotonic()
        elapsed_s = now_s - self.updated_s
        self.tokens = min(self._burst, self.tokens + elapsed_s * self._rate_per_s)
        self.updated_s = now_s
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self._rate_per_s


class RateLimiter:
    """A token bucket per key (client address, username, ...).

    Buckets that have refilled completely are forgotten, so memory is bounded by the
    number of keys active within one refill period.
    """

    def __init__(self, *, rate_per_s: float, burst: int, clock: Clock, max_keys: int = 100_000):
        self._rate_per_s = rate_per_s
        self._burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, TokenBucket] = {}

    @property
    def enabled(self) -> bool:
        return self._rate_per_s > 0

    def try_acquire(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until one is free."""
        if not self.enabled:
            return 0.0
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._evict_full()
            bucket = self._buckets[key] = TokenBucket(
                rate_per_s=self._rate_per_s, burst=self._burst, clock=self._clock
            )
        return bucket.try_acquire()

    def _evict_full(self) -> None:
        now_s = self._clock.monotonic()
        refill_s = self._burst / self._rate_per_s
        stale = [k for k, b in self._buckets.items() if now_s - b.updated_s >= refill_s]
        for key in stale:
            del self._buckets[key]
        if len(self._buckets) >= self._max_keys:
            # Still full: drop the oldest rather than grow without bound.
            oldest = min(self._buckets, key=lambda k: self._buckets[k].updated_s)
            del self._buckets[oldest]
