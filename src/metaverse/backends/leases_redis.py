"""Leases and the gateway register on Redis.

A lease is the key `lease:{key}` holding `"{holder} {epoch}"` with a time to live; its
epoch comes from the counter `lease-epoch:{key}`, which only grows: each new holder gets
the counter plus one, or Redis's clock in microseconds if that is more, so epochs keep
growing even when Redis restarts without its data. Taking, renewing and
releasing each run as one Lua script, so every check-then-act is atomic on the server.
Live gateways are keys `gateway:{id}` with a time to live, listed in the set `gateways`.
"""

from __future__ import annotations

from typing import Any, Final

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from metaverse.backends.leases import Lease, LeasesUnavailable

_LOST: Final = (RedisConnectionError, RedisTimeoutError, OSError)

# The next epoch of KEYS[2]'s counter (see the module's docstring).
_NEXT_EPOCH: Final = """
local function next_epoch(counter)
  local epoch = redis.call('INCR', counter)
  local now = redis.call('TIME')
  local clock = tonumber(now[1]) * 1000000 + tonumber(now[2])
  if epoch < clock then
    epoch = clock
    redis.call('SET', counter, epoch)
  end
  return string.format('%d', epoch)
end
"""

_ACQUIRE: Final = (
    _NEXT_EPOCH
    + """
local held = redis.call('GET', KEYS[1])
if held then
  if string.sub(held, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ' ' then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return held
end
local epoch = next_epoch(KEYS[2])
held = ARGV[1] .. ' ' .. epoch
redis.call('SET', KEYS[1], held, 'PX', ARGV[2])
return held
"""
)

_RENEW: Final = """
local renewed = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] .. ' ' .. ARGV[i + 2] then
    redis.call('PEXPIRE', key, ARGV[2])
    table.insert(renewed, key)
  end
end
return renewed
"""

_TRANSFER: Final = (
    _NEXT_EPOCH
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return false
end
local epoch = next_epoch(KEYS[2])
local held = ARGV[2] .. ' ' .. epoch
redis.call('SET', KEYS[1], held, 'PX', ARGV[3])
return held
"""
)

_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _lease(held: bytes | None) -> Lease | None:
    if held is None:
        return None
    holder, _, epoch = held.decode().rpartition(" ")
    return Lease(holder, int(epoch))


def _check_holder(holder: str) -> None:
    if not holder or " " in holder:
        raise ValueError(f"a lease holder is a non-empty name without spaces: {holder!r}")


class RedisLeases:
    def __init__(self, url: str, *, timeout_s: float = 2.0) -> None:
        self._redis = aioredis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)
        self._transfer = self._redis.register_script(_TRANSFER)

    async def _run(self, call: Any) -> Any:
        try:
            return await call
        except _LOST as error:
            raise LeasesUnavailable(f"Redis is unreachable: {error}") from error

    async def acquire(self, key: str, holder: str, ttl_ms: int) -> Lease:
        _check_holder(holder)
        held = await self._run(
            self._acquire(keys=[f"lease:{key}", f"lease-epoch:{key}"], args=[holder, ttl_ms])
        )
        lease = _lease(held)
        assert lease is not None
        return lease

    async def renew(self, leases: dict[str, int], holder: str, ttl_ms: int) -> set[str]:
        if not leases:
            return set()
        keys = list(leases)
        renewed = await self._run(
            self._renew(
                keys=[f"lease:{key}" for key in keys],
                args=[holder, ttl_ms, *(leases[key] for key in keys)],
            )
        )
        return {name.decode().removeprefix("lease:") for name in renewed}

    async def release(self, key: str, holder: str, epoch: int) -> bool:
        released = await self._run(self._release(keys=[f"lease:{key}"], args=[f"{holder} {epoch}"]))
        return bool(released)

    async def transfer(
        self, key: str, holder: str, epoch: int, successor: str, ttl_ms: int
    ) -> Lease | None:
        _check_holder(successor)
        held = await self._run(
            self._transfer(
                keys=[f"lease:{key}", f"lease-epoch:{key}"],
                args=[f"{holder} {epoch}", successor, ttl_ms],
            )
        )
        return _lease(held)

    async def holder(self, key: str) -> Lease | None:
        return _lease(await self._run(self._redis.get(f"lease:{key}")))

    async def report(self, gateway: str, data: bytes, ttl_ms: int) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(f"gateway:{gateway}", data, px=ttl_ms)
            pipe.sadd("gateways", gateway)
            await self._run(pipe.execute())

    async def reports(self) -> dict[str, bytes]:
        names = sorted(name.decode() for name in await self._run(self._redis.smembers("gateways")))
        if not names:
            return {}
        values = await self._run(self._redis.mget([f"gateway:{name}" for name in names]))
        gone = [name for name, value in zip(names, values, strict=True) if value is None]
        if gone:
            await self._run(self._redis.srem("gateways", *gone))
        return {name: value for name, value in zip(names, values, strict=True) if value}

    async def close(self) -> None:
        await self._redis.aclose()
