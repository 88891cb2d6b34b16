"""The token bucket: burst, refill, independence of keys, bounded memory."""

from __future__ import annotations

from metaverse.accounts.ratelimit import RateLimiter
from metaverse.clock import FakeClock


def test_burst_then_refill() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=1.0, burst=3, clock=clock)
    assert [limiter.try_acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.try_acquire("a") == 1.0
    clock.advance(0.5)
    assert limiter.try_acquire("a") == 0.5
    clock.advance(0.5)
    assert limiter.try_acquire("a") == 0.0
    assert limiter.try_acquire("b") == 0.0


def test_refill_is_capped_at_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=1.0, burst=2, clock=clock)
    limiter.try_acquire("a")
    clock.advance(100)
    assert [limiter.try_acquire("a") for _ in range(3)] == [0.0, 0.0, 1.0]


def test_disabled_when_rate_is_zero() -> None:
    limiter = RateLimiter(rate_per_s=0, burst=1, clock=FakeClock())
    assert not limiter.enabled
    assert all(limiter.try_acquire("a") == 0.0 for _ in range(100))


def test_memory_is_bounded() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=1.0, burst=1, clock=clock, max_keys=10)
    for index in range(10):
        limiter.try_acquire(f"k{index}")
    clock.advance(5)  # every bucket has refilled: all are forgettable
    limiter.try_acquire("new")
    assert len(limiter._buckets) == 1
    for index in range(20):
        limiter.try_acquire(f"fresh{index}")
    assert len(limiter._buckets) <= 10
