"""Leases with epochs, and the register of live gateways: what lets several gateways agree
on which one hosts a space (Redis in service mode, in memory otherwise).

A lease names its holder and an epoch. The epoch grows by one every time the lease is
taken, never when it is renewed, so it orders the holders of a key: a message stamped
with an epoch lower than one already seen comes from a deposed holder (fencing). A lease
ends when its holder releases it or fails to renew it within its time to live; then any
gateway may take it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from metaverse.clock import Clock


@dataclass(frozen=True, slots=True)
class Lease:
    holder: str
    epoch: int


class LeasesUnavailable(Exception):
    """The backend could not be reached in bounded time."""


class Leases(Protocol):
    async def acquire(self, key: str, holder: str, ttl_ms: int) -> Lease:
        """Take `key` for `holder` if it is free (or already theirs: then renew it, same
        epoch); returns whoever holds it afterwards."""
        ...

    async def renew(self, leases: dict[str, int], holder: str, ttl_ms: int) -> set[str]:
        """Extend each of `holder`'s leases (key → epoch) still held with that epoch;
        returns the keys renewed (the others were lost)."""
        ...

    async def release(self, key: str, holder: str, epoch: int) -> bool:
        """End the lease if `holder` still holds it with `epoch`."""
        ...

    async def transfer(
        self, key: str, holder: str, epoch: int, successor: str, ttl_ms: int
    ) -> Lease | None:
        """Hand the lease to `successor` (under the next epoch) if `holder` still holds it
        with `epoch`, with no moment when it is free; None if it was lost already."""
        ...

    async def holder(self, key: str) -> Lease | None:
        """Who holds `key` now, if anyone."""
        ...

    async def report(self, gateway: str, data: bytes, ttl_ms: int) -> None:
        """Register a live gateway (with its load report) for `ttl_ms`."""
        ...

    async def reports(self) -> dict[str, bytes]:
        """The load reports of the gateways registered and not expired."""
        ...

    async def close(self) -> None: ...


class MemoryLeases:
    """Leases of one process (its gateways share one instance), timed by `clock`."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._leases: dict[str, tuple[Lease, float]] = {}
        self._epochs: dict[str, int] = {}
        self._reports: dict[str, tuple[bytes, float]] = {}

    def _now_ms(self) -> float:
        return self._clock.monotonic() * 1000

    def _current(self, key: str) -> Lease | None:
        held = self._leases.get(key)
        if held is None:
            return None
        lease, expires_ms = held
        if expires_ms <= self._now_ms():
            del self._leases[key]
            return None
        return lease

    async def acquire(self, key: str, holder: str, ttl_ms: int) -> Lease:
        lease = self._current(key)
        if lease is None:
            epoch = self._epochs[key] = self._epochs.get(key, 0) + 1
            lease = Lease(holder, epoch)
        elif lease.holder != holder:
            return lease
        self._leases[key] = (lease, self._now_ms() + ttl_ms)
        return lease

    async def renew(self, leases: dict[str, int], holder: str, ttl_ms: int) -> set[str]:
        renewed = set()
        for key, epoch in leases.items():
            if self._current(key) == Lease(holder, epoch):
                self._leases[key] = (Lease(holder, epoch), self._now_ms() + ttl_ms)
                renewed.add(key)
        return renewed

    async def release(self, key: str, holder: str, epoch: int) -> bool:
        if self._current(key) != Lease(holder, epoch):
            return False
        del self._leases[key]
        return True

    async def transfer(
        self, key: str, holder: str, epoch: int, successor: str, ttl_ms: int
    ) -> Lease | None:
        if self._current(key) != Lease(holder, epoch):
            return None
        next_epoch = self._epochs[key] = self._epochs[key] + 1
        lease = Lease(successor, next_epoch)
        self._leases[key] = (lease, self._now_ms() + ttl_ms)
        return lease

    async def holder(self, key: str) -> Lease | None:
        return self._current(key)

    async def report(self, gateway: str, data: bytes, ttl_ms: int) -> None:
        self._reports[gateway] = (data, self._now_ms() + ttl_ms)

    async def reports(self) -> dict[str, bytes]:
        now = self._now_ms()
        return {gateway: data for gateway, (data, until) in self._reports.items() if until > now}

    async def close(self) -> None:
        return None


def open_leases(redis_url: str | None, clock: Clock) -> Leases:
    """Redis leases when a URL is given, else leases of this process alone."""
    if not redis_url:
        return MemoryLeases(clock)
    from metaverse.backends.leases_redis import RedisLeases  # only with Redis

    return RedisLeases(redis_url)
