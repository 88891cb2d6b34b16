"""The pub/sub contract, for the in-process broker and for Redis alike."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import pytest

from metaverse.backends.pubsub import PubSub
from tests.integration.backends.conftest import Listener, unique

MakePubSub = Callable[[], PubSub]


async def subscribed(make: MakePubSub, *channels: str) -> Listener:
    client = make()
    for channel in channels:
        await client.subscribe(channel)
    return Listener(client)


async def test_arbitrary_bytes_round_trip(make_pubsub: MakePubSub) -> None:
    channel = unique("bytes")
    listener = await subscribed(make_pubsub, channel)
    publisher = make_pubsub()
    payloads = [b"", bytes(range(256)), b"\x00" * 7, "héllo ✓".encode(), os.urandom(256 * 1024)]
    for payload in payloads:
        await publisher.publish(channel, payload)
    assert await listener.take(len(payloads)) == [(channel, payload) for payload in payloads]


async def test_every_subscriber_receives_including_the_publisher(make_pubsub: MakePubSub) -> None:
    channel = unique("fanout")
    first = await subscribed(make_pubsub, channel)
    second = await subscribed(make_pubsub, channel)
    await second.client.publish(channel, b"hello")
    assert await first.take(1) == [(channel, b"hello")]
    assert await second.take(1) == [(channel, b"hello")]


async def test_order_is_kept_per_channel(make_pubsub: MakePubSub) -> None:
    red, blue = unique("red"), unique("blue")
    listener = await subscribed(make_pubsub, red, blue)
    publisher = make_pubsub()
    for n in range(200):
        await publisher.publish(red if n % 3 else blue, str(n).encode())
    received = await listener.take(200)
    for channel in (red, blue):
        expected = [str(n).encode() for n in range(200) if (channel == red) == bool(n % 3)]
        assert [data for name, data in received if name == channel] == expected


async def test_publishing_without_awaiting_keeps_the_order_of_the_calls(
    make_pubsub: MakePubSub,
) -> None:
    red, blue = unique("red"), unique("blue")
    listener = await subscribed(make_pubsub, red, blue)
    publisher = make_pubsub()
    sent = [publisher.publish_soon(red if n % 2 else blue, str(n).encode()) for n in range(300)]
    await asyncio.wait_for(asyncio.gather(*sent), 10)
    received = await listener.take(300)
    for channel in (red, blue):
        expected = [str(n).encode() for n in range(300) if (channel == red) == bool(n % 2)]
        assert [data for name, data in received if name == channel] == expected


async def test_unsubscribe_stops_delivery(make_pubsub: MakePubSub) -> None:
    muted, kept = unique("muted"), unique("kept")
    listener = await subscribed(make_pubsub, muted, kept)
    publisher = make_pubsub()
    await publisher.publish(muted, b"before")
    assert await listener.take(1) == [(muted, b"before")]
    await listener.client.unsubscribe(muted)
    await publisher.publish(muted, b"after")
    await publisher.publish(kept, b"marker")  # delivered after "after" would have been
    assert await listener.take(1) == [(kept, b"marker")]


async def test_messages_not_yet_taken_are_dropped_on_unsubscribe(
    make_pubsub: MakePubSub,
) -> None:
    muted, kept = unique("muted"), unique("kept")
    client, publisher = make_pubsub(), make_pubsub()
    await client.subscribe(muted)
    await client.subscribe(kept)
    messages = client.messages()
    await publisher.publish(muted, b"queued")
    await publisher.publish(kept, b"first")
    assert await anext(messages) == (muted, b"queued")  # now the rest is surely on its way
    await publisher.publish(muted, b"queued too")
    await publisher.publish(kept, b"second")
    await asyncio.sleep(0.2)  # let Redis deliver both before unsubscribing
    await client.unsubscribe(muted)
    assert [await anext(messages), await anext(messages)] == [(kept, b"first"), (kept, b"second")]


async def test_subscribing_twice_delivers_once(make_pubsub: MakePubSub) -> None:
    channel = unique("twice")
    listener = await subscribed(make_pubsub, channel, channel)
    publisher = make_pubsub()
    await publisher.publish(channel, b"one")
    await publisher.publish(channel, b"two")
    assert await listener.take(2) == [(channel, b"one"), (channel, b"two")]


async def test_channels_of_other_clients_are_not_received(make_pubsub: MakePubSub) -> None:
    mine, theirs = unique("mine"), unique("theirs")
    listener = await subscribed(make_pubsub, mine)
    await subscribed(make_pubsub, theirs)
    publisher = make_pubsub()
    await publisher.publish(theirs, b"not for me")
    await publisher.publish(mine, b"for me")
    assert await listener.take(1) == [(mine, b"for me")]


@pytest.mark.parametrize(
    "data", ["text", bytearray(b"x"), memoryview(b"x"), 7, None], ids=lambda d: type(d).__name__
)
async def test_data_other_than_bytes_is_refused(make_pubsub: MakePubSub, data: Any) -> None:
    with pytest.raises(TypeError):
        await make_pubsub().publish(unique("typed"), data)


async def test_channel_names_are_checked(make_pubsub: MakePubSub) -> None:
    client = make_pubsub()
    bad: Any = b"bytes-channel"
    with pytest.raises(TypeError):
        await client.publish(bad, b"x")
    with pytest.raises(TypeError):
        await client.subscribe(bad)
    with pytest.raises(ValueError, match="empty"):
        await client.subscribe("")
    with pytest.raises(UnicodeEncodeError):
        await client.publish("\ud800", b"x")


async def test_ping_answers(make_pubsub: MakePubSub) -> None:
    await make_pubsub().ping()


async def test_messages_end_at_close(make_pubsub: MakePubSub) -> None:
    channel = unique("closing")
    client = make_pubsub()
    await client.subscribe(channel)
    await client.publish(channel, b"last")
    messages = client.messages()
    assert await anext(messages) == (channel, b"last")
    waiting = asyncio.ensure_future(anext(messages))
    await asyncio.sleep(0.1)
    await client.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, 5)
