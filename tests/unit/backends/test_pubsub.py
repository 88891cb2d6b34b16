"""What the in-process broker adds to the shared contract (tests/integration/backends):
bounded queues that make publishers wait but never block them for ever; and choosing the
implementation from the settings."""

from __future__ import annotations

import asyncio
import time

import pytest

from metaverse.backends.pubsub import (
    MemoryBroker,
    MemoryPubSub,
    Message,
    PubSubUnavailable,
    open_pubsub,
)
from metaverse.backends.pubsub_redis import RedisPubSub, framed, unframed

# Nothing listens on port 1: every connection is refused at once.
UNREACHABLE = "redis://127.0.0.1:1/0"


async def test_a_full_subscriber_fails_publishing_after_the_timeout() -> None:
    broker = MemoryBroker(queue_size=2, publish_timeout_s=0.2)
    stuck, keeping_up = MemoryPubSub(broker), MemoryPubSub(broker)
    await stuck.subscribe("c")
    await keeping_up.subscribe("c")
    publisher = MemoryPubSub(broker)
    await publisher.publish("c", b"1")
    await publisher.publish("c", b"2")
    assert await take(keeping_up, 2) == [("c", b"1"), ("c", b"2")]
    started = time.monotonic()
    with pytest.raises(PubSubUnavailable, match="2 messages behind"):
        await publisher.publish("c", b"3")
    assert 0.2 <= time.monotonic() - started < 1
    # The subscriber with room got it; the stuck one kept what it had.
    assert await take(keeping_up, 1) == [("c", b"3")]
    assert await take(stuck, 2) == [("c", b"1"), ("c", b"2")]


async def test_waiting_publishers_go_in_publish_order_once_there_is_room() -> None:
    broker = MemoryBroker(queue_size=1)
    subscriber, publisher = MemoryPubSub(broker), MemoryPubSub(broker)
    await subscriber.subscribe("c")
    await publisher.publish("c", b"0")
    waiting = [asyncio.create_task(publisher.publish("c", str(n).encode())) for n in (1, 2, 3)]
    await asyncio.sleep(0.05)
    assert not any(task.done() for task in waiting)
    received = await take(subscriber, 4)
    assert received == [("c", str(n).encode()) for n in range(4)]
    await asyncio.gather(*waiting)


async def test_publishes_behind_a_waiting_one_wait_too_even_to_other_channels() -> None:
    """Once one publish waits for room, later ones queue behind it in call order, even
    those whose subscribers have room: nothing overtakes."""
    broker = MemoryBroker(queue_size=1)
    full, free, publisher = MemoryPubSub(broker), MemoryPubSub(broker), MemoryPubSub(broker)
    await full.subscribe("a")
    await free.subscribe("b")
    publisher.publish_soon("a", b"0")
    waiting = publisher.publish_soon("a", b"1")
    behind = publisher.publish_soon("b", b"2")
    await asyncio.sleep(0.05)
    assert not waiting.done() and not behind.done()
    assert await take(full, 2) == [("a", b"0"), ("a", b"1")]
    await asyncio.wait_for(asyncio.gather(waiting, behind), 1)
    assert await take(free, 1) == [("b", b"2")]


async def test_closing_a_full_subscriber_releases_its_publishers() -> None:
    broker = MemoryBroker(queue_size=1)
    subscriber, publisher = MemoryPubSub(broker), MemoryPubSub(broker)
    await subscriber.subscribe("c")
    await publisher.publish("c", b"0")
    waiting = asyncio.create_task(publisher.publish("c", b"1"))
    await asyncio.sleep(0.05)
    await subscriber.close()
    await asyncio.wait_for(waiting, 1)


async def test_a_closed_client_refuses_to_publish_subscribe_or_ping() -> None:
    client = MemoryPubSub(MemoryBroker())
    await client.close()
    with pytest.raises(PubSubUnavailable):
        await client.publish("c", b"x")
    with pytest.raises(PubSubUnavailable):
        await client.subscribe("c")
    with pytest.raises(PubSubUnavailable):
        await client.ping()


async def test_unsubscribing_from_an_unknown_channel_is_fine() -> None:
    client = MemoryPubSub(MemoryBroker())
    await client.unsubscribe("never")
    await client.subscribe("c")
    await client.unsubscribe("c")
    await client.unsubscribe("c")


async def test_no_url_means_a_client_of_the_given_broker() -> None:
    broker = MemoryBroker()
    first, second = open_pubsub(None, broker), open_pubsub("", broker)
    assert isinstance(first, MemoryPubSub) and isinstance(second, MemoryPubSub)
    await first.subscribe("c")
    await second.publish("c", b"shared")
    assert await take(first, 1) == [("c", b"shared")]


async def test_a_url_means_redis() -> None:
    client = open_pubsub(UNREACHABLE, MemoryBroker())
    assert isinstance(client, RedisPubSub)
    await client.close()


async def test_an_unreachable_redis_fails_each_call_in_bounded_time() -> None:
    client = RedisPubSub(UNREACHABLE, timeout_s=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(PubSubUnavailable, match="unreachable"):
            await client.publish("c", b"x")
        with pytest.raises(PubSubUnavailable, match="unreachable"):
            await client.ping()
        with pytest.raises(PubSubUnavailable, match="subscrib"):
            await client.subscribe("c")
        assert time.monotonic() - started < 3
    finally:
        await client.close()


async def take(client: MemoryPubSub, count: int) -> list[Message]:
    """The next `count` messages of `client` (they must be there already)."""
    messages = client.messages()
    async with asyncio.timeout(1):
        return [await anext(messages) for _ in range(count)]


def test_redis_messages_carry_many_framed_messages_in_order_per_channel() -> None:
    messages = [("a", b"1"), ("b", b""), ("a", b"2" * 300), ("b", bytes(range(256))), ("a", b"3")]
    carried = framed(messages)
    assert [channel for channel, _ in carried] == ["a", "b"]
    split = {channel: unframed(channel, payload) for channel, payload in carried}
    assert split == {"a": [b"1", b"2" * 300, b"3"], "b": [b"", bytes(range(256))]}


def test_a_redis_message_stays_about_a_megabyte() -> None:
    big = b"x" * 400_000
    carried = framed([("a", big)] * 5 + [("a", b"tail")])
    assert [len(unframed("a", payload)) for _, payload in carried] == [2, 2, 2]
    assert [m for _, payload in carried for m in unframed("a", payload)] == [big] * 5 + [b"tail"]
    assert framed([("a", b"y" * 3_000_000)]) == [
        ("a", (3_000_000).to_bytes(4, "big") + b"y" * 3_000_000)
    ]


def test_a_message_not_framed_as_ours_is_ignored() -> None:
    assert unframed("a", b"\x00\x00\x00\x09short") == []
    assert unframed("a", b"\x00\x01") == []
    assert unframed("a", b"") == []
