"""Pub/sub on Redis: publishing through one queue, sent in rounds on one connection;
receiving on one dedicated subscriber connection that a background task reads, reconnects
and resubscribes. Both connections speak RESP directly (`resp.RespConnection`: this is
the hot path between gateways).

Publishes are queued and sent in order by one task, all that queued up during the
previous round trip at once: the messages of one channel go as one Redis message, a
sequence of frames (a 4-byte big-endian length, then the data), which subscribers split
again. Under load, a Redis message (and a round trip) then carries many messages; order
per channel is kept.

Redis keeps nothing for a disconnected subscriber: what is published while this client
is reconnecting (a Redis restart, or Redis cutting off a subscriber that fell behind its
`client-output-buffer-limit pubsub`) is lost. `messages()` carries on after recovery, with
a `GAP` item first that reaches back to the last moment the connection was known to work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import Final

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from metaverse.backends.pubsub import GAP, Inbox, Message, PubSubUnavailable, check_message
from metaverse.backends.resp import RespConnection, RespError

log = logging.getLogger(__name__)

_LOST: Final = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
_READ_WAIT_S: Final = 1.0
# A silent subscriber connection is pinged after this long, and given up on (then
# reconnected) when nothing at all has come back for three times as long.
_IDLE_PING_S: Final = 5.0
_RECONNECT_BACKOFF_S: Final = (0.05, 0.1, 0.2, 0.5, 1.0)
# A round of publishes that finds its connection broken (a restarted Redis closed it) is
# sent again on a new one, this many times, after these pauses.
_PUBLISH_RETRY_S: Final = (0.05, 0.1)
_PIPELINE_MAX: Final = 1000  # publishes sent in one round trip at most
_FRAMES_MAX_BYTES: Final = 1 << 20  # a Redis message of several frames stays about this size
_LENGTH_BYTES: Final = 4

_Outgoing = tuple[str, bytes, asyncio.Future[None]]


class RedisPubSub:
    def __init__(self, url: str, *, timeout_s: float = 5.0, queue_size: int = 10_000) -> None:
        self._url = url
        self._timeout_s = timeout_s
        # Readiness pings only: redis-py, retrying twice quickly (enough for a pooled
        # connection that a restarted Redis closed); a Redis that is down fails the call
        # in bounded time.
        self._client = aioredis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        )
        self._publisher: RespConnection | None = None
        self._channels: set[str] = set()
        self._confirmations: dict[str, list[asyncio.Future[None]]] = {}
        self._connection: RespConnection | None = None
        self._swap = asyncio.Lock()  # (re)connecting and sending (un)subscribe commands
        self._reading: asyncio.Task[None] | None = None
        self.inbox = Inbox(queue_size)
        self.reconnects = 0
        self._outgoing: deque[_Outgoing] = deque()
        self._publishing: asyncio.Task[None] | None = None
        # When (loop time) the subscriber last heard from Redis; None before it first did.
        self._heard_s: float | None = None

    async def publish(self, channel: str, data: bytes) -> None:
        await self.publish_soon(channel, data)

    def publish_soon(self, channel: str, data: bytes) -> asyncio.Future[None]:
        check_message(channel, data)
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outgoing.append((channel, data, sent))
        if self._publishing is None:
            self._publishing = asyncio.create_task(self._publish_queued(), name="redis-publish")
        return sent

    async def _publish_queued(self) -> None:
        """Send what is queued, in order, a round per round trip, until nothing is."""
        outgoing = self._outgoing
        batch: list[_Outgoing] = []
        try:
            while outgoing:
                batch = [outgoing.popleft() for _ in range(min(len(outgoing), _PIPELINE_MAX))]
                failure = await self._publish_round(framed((c, d) for c, d, _ in batch))
                for _, _, sent in batch:
                    if sent.done():  # its publisher gave up
                        continue
                    if failure is None:
                        sent.set_result(None)
                    else:
                        sent.set_exception(PubSubUnavailable(failure))
        finally:
            self._publishing = None
            for _, _, sent in batch:  # cancelled (closing) before they were settled
                if not sent.done():
                    sent.set_exception(PubSubUnavailable("the pub/sub client is closed"))

    async def _publish_round(self, messages: list[Message]) -> str | None:
        """Publish `messages` on the publishing connection: None once Redis took them all,
        else why not."""
        for retry_s in (*_PUBLISH_RETRY_S, None):
            try:
                async with asyncio.timeout(self._timeout_s):
                    if self._publisher is None:
                        self._publisher = await RespConnection.open(self._url, self._timeout_s)
                    publisher = self._publisher
                    publisher.send(("PUBLISH", channel, data) for channel, data in messages)
                    await publisher.drain()
                    refused = None
                    for _ in messages:  # every reply is read, or the next round misreads
                        try:
                            await publisher.reply()
                        except RespError as error:
                            refused = refused or error
                if refused is not None:
                    return f"Redis refused to publish: {refused}"
                return None
            except RespError as error:  # refused the connection (AUTH)
                self._drop_publisher()
                return f"Redis refused to publish: {error}"
            except (OSError, TimeoutError) as error:
                self._drop_publisher()
                if retry_s is None or isinstance(error, TimeoutError):
                    return f"Redis is unreachable: {error or 'no answer in time'}"
                await asyncio.sleep(retry_s)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    def _drop_publisher(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            publisher.close()

    async def subscribe(self, channel: str) -> None:
        """Registers `channel` (kept across reconnections) and waits for Redis to confirm
        it; raises `PubSubUnavailable` if that takes longer than `timeout_s`, and the
        channel is subscribed again once Redis is back."""
        check_message(channel)
        if self.inbox.closed:
            raise PubSubUnavailable("the pub/sub client is closed")
        confirmed = asyncio.get_running_loop().create_future()
        self._confirmations.setdefault(channel, []).append(confirmed)
        self._channels.add(channel)
        if self._reading is None:
            self._reading = asyncio.create_task(self._read(), name="redis-pubsub")
        await self._send("SUBSCRIBE", channel)
        try:
            async with asyncio.timeout(self._timeout_s):
                await confirmed
        except TimeoutError as error:
            raise PubSubUnavailable(f"Redis did not confirm subscribing to {channel}") from error
        finally:
            waiting = self._confirmations.get(channel, [])
            if confirmed in waiting:
                waiting.remove(confirmed)

    async def unsubscribe(self, channel: str) -> None:
        check_message(channel)
        self._channels.discard(channel)
        await self._send("UNSUBSCRIBE", channel)

    async def messages(self) -> AsyncIterator[Message]:
        while (message := await self.inbox.get()) is not None:
            if message[0] in self._channels or message[0] == GAP:
                yield message

    async def ping(self) -> None:
        try:
            await self._client.ping()
        except _LOST as error:
            raise PubSubUnavailable(f"Redis is unreachable: {error}") from error

    async def close(self) -> None:
        self.inbox.close()
        if self._publishing is not None:
            self._publishing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publishing
        while self._outgoing:
            _, _, sent = self._outgoing.popleft()
            if not sent.done():
                sent.set_exception(PubSubUnavailable("the pub/sub client is closed"))
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading
        for waiting in self._confirmations.values():
            for confirmed in waiting:
                confirmed.cancel()
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            await publisher.aclose()
        await self._client.aclose()

    async def _send(self, command: str, channel: str) -> None:
        async with self._swap:
            connection = self._connection
            if connection is None:
                return  # the reading task subscribes to every channel when it connects
            try:
                connection.send([(command, channel)])
                await connection.drain()
            except _LOST:
                # The connection broke: the reading task notices, reconnects and
                # subscribes again to what `_channels` holds by then.
                log.debug("Redis %s %s failed; resubscribing after reconnect", command, channel)

    async def _read(self) -> None:
        """Owns the subscriber connection for the life of the client."""
        failures = 0
        while True:
            try:
                await self._connect()
                failures = 0
                if self._heard_s is not None:  # connected before: some may be lost
                    lost_ms = (asyncio.get_running_loop().time() - self._heard_s) * 1000
                    await self.inbox.put((GAP, str(round(lost_ms)).encode()))
                await self._receive()
            except _LOST as error:
                level = logging.WARNING if failures == 0 else logging.DEBUG
                log.log(level, "Redis subscriber connection lost (%s); reconnecting", error)
            except Exception:  # whatever it is, a dead reader would stop delivery for good
                log.exception("Redis subscriber failed; reconnecting")
            finally:
                await self._disconnect()
            await asyncio.sleep(_RECONNECT_BACKOFF_S[min(failures, len(_RECONNECT_BACKOFF_S) - 1)])
            failures += 1
            self.reconnects += 1

    async def _connect(self) -> None:
        async with self._swap:
            connection = await RespConnection.open(self._url, self._timeout_s)
            self._connection = connection
            if self._channels:
                connection.send([("SUBSCRIBE", *self._channels)])
                await connection.drain()

    async def _disconnect(self) -> None:
        async with self._swap:
            connection, self._connection = self._connection, None
        if connection is not None:
            await connection.aclose()

    async def _receive(self) -> None:
        connection = self._connection
        assert connection is not None
        loop = asyncio.get_running_loop()
        heard_s = pinged_s = self._heard_s = loop.time()
        while True:
            # What one read of the socket brought is taken without waiting; a wait for
            # more is bounded, to ping a silent connection.
            reply = connection.buffered()
            if reply is False:
                try:
                    async with asyncio.timeout(_READ_WAIT_S):
                        reply = await connection.reply()
                except TimeoutError:
                    now_s = loop.time()
                    if now_s - heard_s > 3 * _IDLE_PING_S:
                        raise RedisTimeoutError(
                            f"no reply from Redis in {3 * _IDLE_PING_S} s"
                        ) from None
                    if now_s - max(heard_s, pinged_s) > _IDLE_PING_S:
                        pinged_s = now_s
                        connection.send([("PING",)])
                        await connection.drain()
                    continue
            heard_s = self._heard_s = loop.time()
            if not isinstance(reply, list):
                continue  # PONG, before any subscription
            kind, channel = reply[0], reply[1]
            if kind == b"message":
                name = channel.decode()
                for data in unframed(name, reply[2]):
                    await self.inbox.put((name, data))
            elif kind == b"subscribe":
                for confirmed in self._confirmations.pop(channel.decode(), []):
                    if not confirmed.done():
                        confirmed.set_result(None)


def framed(messages: Iterable[Message]) -> list[Message]:
    """The Redis messages that carry `messages`: per channel, its messages in order,
    framed together up to about _FRAMES_MAX_BYTES each."""
    frames: dict[str, list[list[bytes]]] = {}
    sizes: dict[str, int] = {}
    for channel, data in messages:
        groups = frames.setdefault(channel, [[]])
        if sizes.get(channel, 0) + len(data) > _FRAMES_MAX_BYTES and groups[-1]:
            groups.append([])
            sizes[channel] = 0
        groups[-1] += (len(data).to_bytes(_LENGTH_BYTES, "big"), data)
        sizes[channel] = sizes.get(channel, 0) + _LENGTH_BYTES + len(data)
    return [(channel, b"".join(group)) for channel, groups in frames.items() for group in groups]


def unframed(channel: str, payload: bytes) -> list[bytes]:
    """The messages in one Redis message; none if it is not framed as ours."""
    messages, offset, end = [], 0, len(payload)
    while offset < end:
        size = int.from_bytes(payload[offset : offset + _LENGTH_BYTES], "big")
        offset += _LENGTH_BYTES
        if offset + size > end:
            log.warning("ignoring a malformed message on Redis channel %s", channel)
            return []
        messages.append(payload[offset : offset + size])
        offset += size
    return messages
