"""One contract for both lease backends: in memory and on the real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from metaverse.backends.leases import Leases, MemoryLeases
from metaverse.backends.leases_redis import RedisLeases
from metaverse.clock import FakeClock
from tests.integration.backends.conftest import sharing
from tests.services import service_url

TTL_MS = 300


@dataclass
class Backend:
    leases: Leases
    expire: Callable[[], Awaitable[None]]  # let every lease taken so far run out


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.integration)])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        clock = FakeClock()

        async def advance() -> None:
            clock.advance(TTL_MS / 1000 + 0.001)

        yield Backend(MemoryLeases(clock), advance)
        return
    url = service_url("redis")
    async with sharing(url):
        leases = RedisLeases(url)

        async def wait() -> None:
            await asyncio.sleep(TTL_MS / 1000 + 0.1)

        yield Backend(leases, wait)
        await leases.close()


def key() -> str:
    return f"space:test-{uuid.uuid4().hex}"


async def test_a_free_lease_is_taken_and_its_epoch_grows_with_each_holder(
    backend: Backend,
) -> None:
    leases, k = backend.leases, key()
    assert await leases.holder(k) is None
    first = await leases.acquire(k, "gw-a", TTL_MS)
    assert first.holder == "gw-a"
    assert await leases.holder(k) == first
    # Held: another gateway gets the holder back; the holder again renews, same epoch.
    assert await leases.acquire(k, "gw-b", TTL_MS) == first
    assert await leases.acquire(k, "gw-a", TTL_MS) == first
    assert await leases.release(k, "gw-a", first.epoch)
    second = await leases.acquire(k, "gw-b", TTL_MS)
    assert second.holder == "gw-b" and second.epoch > first.epoch


async def test_a_lease_not_renewed_runs_out_and_is_lost_for_good(backend: Backend) -> None:
    leases, k, other = backend.leases, key(), key()
    mine = await leases.acquire(k, "gw-a", TTL_MS)
    kept = await leases.acquire(other, "gw-a", TTL_MS)
    await backend.expire()
    assert await leases.holder(k) is None
    taken = await leases.acquire(k, "gw-b", TTL_MS)
    assert taken.epoch > mine.epoch
    # The deposed holder can neither renew nor release it; its other lease ran out too.
    assert await leases.renew({k: mine.epoch, other: kept.epoch}, "gw-a", TTL_MS) == set()
    assert not await leases.release(k, "gw-a", mine.epoch)
    assert await leases.holder(k) == taken


async def test_a_lease_is_handed_over_without_a_moment_free(backend: Backend) -> None:
    leases, k = backend.leases, key()
    mine = await leases.acquire(k, "gw-a", TTL_MS)
    handed = await leases.transfer(k, "gw-a", mine.epoch, "gw-b", TTL_MS)
    assert handed is not None and handed.holder == "gw-b" and handed.epoch > mine.epoch
    assert await leases.holder(k) == handed
    # Only its holder, under its epoch, hands a lease over.
    assert await leases.transfer(k, "gw-a", mine.epoch, "gw-c", TTL_MS) is None
    assert await leases.transfer(k, "gw-b", mine.epoch, "gw-c", TTL_MS) is None
    assert await leases.renew({k: handed.epoch}, "gw-b", TTL_MS) == {k}


async def test_renewing_keeps_only_the_leases_still_held(backend: Backend) -> None:
    leases, a, b = backend.leases, key(), key()
    first = await leases.acquire(a, "gw-a", TTL_MS)
    second = await leases.acquire(b, "gw-a", TTL_MS)
    assert await leases.renew({a: first.epoch, b: second.epoch + 1}, "gw-a", TTL_MS) == {a}
    assert await leases.renew({}, "gw-a", TTL_MS) == set()


async def test_of_many_concurrent_takers_exactly_one_holds_the_lease(backend: Backend) -> None:
    leases, k = backend.leases, key()
    results = await asyncio.gather(*(leases.acquire(k, f"gw-{n}", TTL_MS) for n in range(20)))
    assert len(set(results)) == 1
    assert await leases.holder(k) == results[0]


async def test_live_gateways_are_the_reports_not_expired(backend: Backend) -> None:
    leases = backend.leases
    name = f"gw-{uuid.uuid4().hex}"
    await leases.report(name, b"load", TTL_MS)
    assert (await leases.reports())[name] == b"load"
    await backend.expire()
    assert name not in await leases.reports()


async def test_epochs_keep_growing_when_redis_loses_its_data() -> None:
    url = service_url("redis")
    async with sharing(url):
        leases = RedisLeases(url)
        try:
            k = key()
            first = await leases.acquire(k, "gw-a", TTL_MS)
            # What a restart without persistence leaves: no lease, no counter.
            await leases._redis.delete(f"lease:{k}", f"lease-epoch:{k}")
            again = await leases.acquire(k, "gw-b", TTL_MS)
            assert again.epoch > first.epoch
        finally:
            await leases.close()


async def test_holders_with_spaces_in_their_names_are_refused() -> None:
    with pytest.raises(ValueError, match="without spaces"):
        await RedisLeases("redis://127.0.0.1:1").acquire("k", "gw a", TTL_MS)
