"""Time as a dependency: everything that expires, refills or times out reads a `Clock`."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock time in seconds since the epoch (for timestamps and token expiry)."""
        ...

    def monotonic(self) -> float:
        """Monotonic seconds (for rates, intervals and timeouts)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that only moves when told to; tests advance it instead of sleeping."""

    def __init__(self, start_s: float = 1_700_000_000.0) -> None:
        self._now_s = start_s
        self._monotonic_s = 0.0

    def now(self) -> float:
        return self._now_s

    def monotonic(self) -> float:
        return self._monotonic_s

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not go backwards")
        self._now_s += seconds
        self._monotonic_s += seconds
