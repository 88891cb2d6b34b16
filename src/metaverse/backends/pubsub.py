"""Pub/sub: live delivery of bytes across gateway processes (Redis in service mode, an
in-process broker otherwise).

Nothing is stored: a message reaches the clients subscribed when it is published, in
publish order per channel, and no one else. What must not be lost goes through the
event log first. A client that may have missed messages (its connection to the backend
broke and came back) says so in `messages()` with a `GAP` item, so that its user can
fetch what was lost from where it is stored.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Final, Protocol

Message = tuple[str, bytes]  # (channel, data)

# The channel of the item `messages()` yields after a gap in delivery: its data is how many
# milliseconds back (ASCII digits) messages of every channel may have been lost. No real
# channel has this name (channel names are never empty).
GAP: Final = ""


class PubSubUnavailable(Exception):
    """A message could not be handed over in bounded time (the backend is down, or a
    subscriber is far behind); the caller decides whether to retry or drop it."""


class PubSub(Protocol):
    async def publish(self, channel: str, data: bytes) -> None:
        """Send to every client subscribed to `channel` now; raises `PubSubUnavailable`."""
        ...

    def publish_soon(self, channel: str, data: bytes) -> asyncio.Future[None]:
        """`publish` without a coroutine: the message is on its way when this returns (so
        messages keep the order of these calls), and the future is done once it was
        handed over, or fails with `PubSubUnavailable`."""
        ...

    async def subscribe(self, channel: str) -> None:
        """Receive `channel` in `messages()` from now on (idempotent)."""
        ...

    async def unsubscribe(self, channel: str) -> None:
        """Stop receiving `channel`, including messages not yet taken from `messages()`."""
        ...

    def messages(self) -> AsyncIterator[Message]:
        """This client's messages, in publish order per channel, and a `GAP` item where
        some may be missing; ends at `close()`. One consumer per client."""
        ...

    async def ping(self) -> None:
        """Raise `PubSubUnavailable` if the backend can't be reached (readiness)."""
        ...

    async def close(self) -> None: ...


def check_message(channel: object, data: object = b"") -> None:
    """Channels are non-empty UTF-8 text and data is `bytes`, for every backend."""
    if not isinstance(channel, str):
        raise TypeError(f"a channel name is a str, not {type(channel).__name__}")
    if not channel:
        raise ValueError("a channel name can't be empty")
    channel.encode()  # lone surrogates can't cross the wire
    if type(data) is not bytes:
        raise TypeError(f"pub/sub data is bytes, not {type(data).__name__}")


class Inbox:
    """A bounded FIFO between the delivering side and `messages()`. `put` waits while it
    is full; `close` discards what is left and ends `get`."""

    def __init__(self, maxsize: int) -> None:
        self._items: deque[Message] = deque()
        self._maxsize = maxsize
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self.closed = False

    def full(self) -> bool:
        return len(self._items) >= self._maxsize

    def put_nowait(self, item: Message) -> None:
        if self.closed:
            return
        self._items.append(item)
        self._readable.set()
        if self.full():
            self._writable.clear()

    async def put(self, item: Message) -> None:
        while self.full() and not self.closed:
            await self._writable.wait()
        self.put_nowait(item)

    async def get(self) -> Message | None:
        """The next item, or None once closed."""
        while not self._items:
            if self.closed:
                return None
            self._readable.clear()
            await self._readable.wait()
        self._writable.set()
        return self._items.popleft()

    def close(self) -> None:
        self.closed = True
        self._items.clear()
        self._readable.set()
        self._writable.set()


class MemoryBroker:
    """The in-process "server": every client of one broker sees the others' publishes.

    Nothing is dropped silently. Each client buffers up to `queue_size` messages; while
    one is full, publishers wait for it (keeping publish order), and give up with
    `PubSubUnavailable` after `publish_timeout_s`, so a stuck subscriber can't block
    them for ever. Subscribers that had room keep the message.
    """

    def __init__(self, *, queue_size: int = 10_000, publish_timeout_s: float = 5.0) -> None:
        self.queue_size = queue_size
        self._publish_timeout_s = publish_timeout_s
        self._subscribers: dict[str, set[MemoryPubSub]] = {}
        self._waiting = asyncio.Lock()  # held by the publisher waiting for room
        self._queued = 0  # publishes waiting, or about to wait, for `_waiting`

    def publish_soon(self, channel: str, data: bytes) -> asyncio.Future[None]:
        check_message(channel, data)
        message = (channel, data)
        inboxes = [client.inbox for client in self._subscribers.get(channel, ())]
        loop = asyncio.get_running_loop()
        if not self._queued and not any(inbox.full() for inbox in inboxes):
            for inbox in inboxes:
                inbox.put_nowait(message)
            done: asyncio.Future[None] = loop.create_future()
            done.set_result(None)
            return done
        # Counted now: publishes after this one queue behind it (tasks start in order,
        # and the lock serves them in order).
        self._queued += 1
        return loop.create_task(self._publish_waiting(channel, message, inboxes))

    async def _publish_waiting(self, channel: str, message: Message, inboxes: list[Inbox]) -> None:
        try:
            async with asyncio.timeout(self._publish_timeout_s), self._waiting:
                full = [inbox for inbox in inboxes if inbox.full()]
                for inbox in inboxes:
                    if inbox not in full:
                        inbox.put_nowait(message)
                for inbox in full:
                    await inbox.put(message)
        except TimeoutError as error:
            raise PubSubUnavailable(
                f"a subscriber of {channel!r} is {self.queue_size} messages behind"
            ) from error
        finally:
            self._queued -= 1

    def subscribe(self, client: MemoryPubSub, channel: str) -> None:
        self._subscribers.setdefault(channel, set()).add(client)

    def unsubscribe(self, client: MemoryPubSub, channel: str) -> None:
        clients = self._subscribers.get(channel)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del self._subscribers[channel]


class MemoryPubSub:
    """A client of a `MemoryBroker`."""

    def __init__(self, broker: MemoryBroker) -> None:
        self._broker = broker
        self._channels: set[str] = set()
        self.inbox = Inbox(broker.queue_size)

    async def publish(self, channel: str, data: bytes) -> None:
        await self.publish_soon(channel, data)

    def publish_soon(self, channel: str, data: bytes) -> asyncio.Future[None]:
        if self.inbox.closed:
            closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            closed.set_exception(PubSubUnavailable("the pub/sub client is closed"))
            return closed
        return self._broker.publish_soon(channel, data)

    async def subscribe(self, channel: str) -> None:
        check_message(channel)
        self._check_open()
        self._channels.add(channel)
        self._broker.subscribe(self, channel)

    async def unsubscribe(self, channel: str) -> None:
        check_message(channel)
        self._channels.discard(channel)
        self._broker.unsubscribe(self, channel)

    async def messages(self) -> AsyncIterator[Message]:
        while (message := await self.inbox.get()) is not None:
            if message[0] in self._channels:
                yield message

    async def ping(self) -> None:
        self._check_open()

    async def close(self) -> None:
        for channel in self._channels:
            self._broker.unsubscribe(self, channel)
        self._channels.clear()
        self.inbox.close()

    def _check_open(self) -> None:
        if self.inbox.closed:
            raise PubSubUnavailable("the pub/sub client is closed")


def open_pubsub(redis_url: str | None, broker: MemoryBroker) -> PubSub:
    """A Redis client when a URL is given, else a client of the in-process `broker`."""
    if not redis_url:
        return MemoryPubSub(broker)
    # Imported here so that single-process mode never loads the Redis client.
    from metaverse.backends.pubsub_redis import RedisPubSub

    return RedisPubSub(redis_url)
