"""Spatial chat over the gateway on the in-memory backends: who receives what."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

from metaverse.backends.eventlog import MemoryEventLog, MemoryReader
from metaverse.chat.messages import CHAT_TOPIC
from metaverse.chat.pipeline import ChatPipeline, Routing, delivery_bytes, space_channel
from metaverse.db.models import ChatRoom, ChatRoomMember, SpaceMember
from metaverse.gateway.chat import MAX_IN_FLIGHT, ChatRelay
from tests.component.gateway.conftest import Client, World, WorldFactory
from tests.component.gateway.test_calls import walk
from tests.messages import chat as chat_message

SPAWN = [("spawn", 5, 5, 1, 1, "spawn")]
CHAT = ["chat"]


async def say(client: Client, scope: str, text: str, **extra: Any) -> dict[str, Any]:
    await client.send("chat", {"scope": scope, "text": text, "clientId": "c1", **extra})
    frame = await client.recv()
    payload: dict[str, Any] = frame["payload"]
    assert frame["type"] in ("chat-ack", "chat-error"), frame
    return {"type": frame["type"], **payload}


async def crowd(
    world: World, space: str, count: int, caps: list[str] | None = None
) -> list[tuple[str, Client]]:
    people = []
    for _ in range(count):
        user_id, token = await world.user()
        client, _ = await world.join(space, token, capabilities=caps or CHAT)
        people.append((user_id, client))
    for _, client in people:  # user-joined (and call) frames of the arrivals
        await client.drain()
    return people


async def test_space_chat_reaches_everyone_with_chat_and_acks_the_sender(world: World) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    (a_id, a), (_, b), (_, c) = await crowd(world, space, 3)
    _, bare_token = await world.user()
    bare, _ = await world.join(space, bare_token)
    for client in (a, b, c):
        await client.expect("user-joined")

    ack = await say(a, "space", "  hello <b>all</b> \r\n ")
    assert ack["type"] == "chat-ack" and ack["clientId"] == "c1" and ack["id"] and ack["ts"]
    for client in (b, c):
        chat = await client.expect("chat")
        assert chat == {
            "id": ack["id"],
            "scope": "space",
            "from": {"userId": a_id, "username": chat["from"]["username"]},
            "text": "hello <b>all</b>",
            "ts": ack["ts"],
        }
    # Once: delivered by this gateway itself, and skipped when pub/sub brings it back.
    for client in (a, b, c, bare):
        await client.quiet()

    log = world.gateway.event_log
    assert isinstance(log, MemoryEventLog)
    stored = [json.loads(r.value) for r in log.records(CHAT_TOPIC)]
    assert [m["id"] for m in stored] == [ack["id"]]
    assert log.records(CHAT_TOPIC)[0].key == f"space:{space}".encode()


async def test_nearby_follows_distance_calls_and_dnd(world: World) -> None:
    areas = [*SPAWN, ("meeting", 10, 0, 10, 10, "private")]
    space = await world.space(30, 20, areas=areas)
    people = await crowd(world, space, 4, caps=["chat", "proximity"])
    (_, a), (_, b), (_, c), (_, d) = people
    # C walks 6 tiles away (out of chat radius 5); D goes to dnd.
    await walk(world, c, [(5, 6), (5, 7), (5, 8), (5, 9), (5, 10), (5, 11)])
    await d.send("status", {"status": "dnd"})
    for _, client in people:
        await client.drain()
    ack = await say(a, "nearby", "psst")
    assert ack["type"] == "chat-ack"
    assert (await b.expect("chat"))["scope"] == "nearby"
    await c.quiet()
    await d.quiet()


async def test_area_chat_stays_in_the_area(world: World) -> None:
    areas = [*SPAWN, ("lounge", 0, 0, 10, 10, "room")]
    space = await world.space(30, 20, areas=areas)
    (_, a), (_, b), (_, c) = await crowd(world, space, 3)
    await walk(world, c, [(6, 5), (7, 5), (8, 5), (9, 5), (10, 5)])
    for client in (a, b):
        for _ in range(5):
            await client.expect("movement")
    ack = await say(a, "area", "lounge news")
    assert ack["type"] == "chat-ack"
    assert (await b.expect("chat"))["area"] == "lounge"
    await c.quiet()
    outside = await say(c, "area", "anyone?")
    assert outside == {
        "type": "chat-error",
        "clientId": "c1",
        "code": "not_in_area",
        "message": outside["message"],
        "retryable": False,
    }


async def test_direct_messages(world: World) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    (a_id, a), (b_id, b), (_, c) = await crowd(world, space, 3)
    ack = await say(a, "direct", "just you", to=b_id)
    assert ack["type"] == "chat-ack"
    assert (await b.expect("chat"))["to"] == b_id
    await c.quiet()
    stranger_id, _ = await world.user()
    refused = await say(a, "direct", "hello?", to=stranger_id)
    assert refused["code"] == "unknown_recipient"
    assert (await say(a, "direct", "no one"))["code"] == "missing_recipient"
    assert (await say(a, "direct", "me, myself", to=a_id))["code"] == "unknown_recipient"
    # A member who is away: stored for them (their history), nobody here receives it.
    async with world.context.sessions() as session:
        session.add(SpaceMember(space_id=space, user_id=stranger_id, role="member"))
        await session.commit()
    assert (await say(a, "direct", "see you later", to=stranger_id))["type"] == "chat-ack"
    await b.quiet()
    await c.quiet()


async def test_malformed_deliveries_are_ignored(world: World) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    (_, a), (_, b) = await crowd(world, space, 2)
    channel = space_channel(space)
    for junk in (
        b"not json",
        b"[1, 2]",
        b'{"kind": "chat"}',
        b'{"kind": "chat", "message": [1]}',
        b'{"kind": "chat", "message": {"scope": "space", "sender_id": "x"}}',
        b'{"kind": "chat-deleted"}',
    ):
        await world.gateway.pubsub.publish(channel, junk)
    assert (await say(a, "space", "still here"))["type"] == "chat-ack"
    assert (await b.expect("chat"))["text"] == "still here"


async def test_deliveries_of_other_gateways_arrive_and_its_own_are_skipped(
    world: World,
) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    (a_id, a), (_, b) = await crowd(world, space, 2)

    def delivery(text: str, origin: str) -> bytes:
        message = chat_message(space, text, sender_id=a_id)
        return delivery_bytes(message, Routing(), origin=origin)

    channel = space_channel(space)
    await world.gateway.pubsub.publish(channel, delivery("from elsewhere", "gw-2/0123"))
    assert (await b.expect("chat"))["text"] == "from elsewhere"
    await world.gateway.pubsub.publish(channel, delivery("echo", world.gateway.origin))
    await b.quiet()
    await a.quiet()


async def test_room_messages(world: World) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    (a_id, a), (b_id, b), (_, c) = await crowd(world, space, 3)
    async with world.context.sessions() as session:
        room = ChatRoom(space_id=space, name="team", owner_id=a_id, private=True)
        session.add(room)
        await session.flush()
        session.add_all([ChatRoomMember(room_id=room.id, user_id=u) for u in (a_id, b_id)])
        await session.commit()
        room_id = room.id
    ack = await say(a, "room", "standup", roomId=room_id)
    assert ack["type"] == "chat-ack"
    assert (await b.expect("chat"))["roomId"] == room_id
    await c.quiet()
    assert (await say(c, "room", "let me in", roomId=room_id))["code"] == "not_a_member"
    assert (await say(a, "room", "x", roomId="nope"))["code"] == "unknown_room"
    assert (await say(a, "room", "x"))["code"] == "missing_room"


async def test_bad_chat_input_stores_and_delivers_nothing(world: World) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    (_, a), (_, b) = await crowd(world, space, 2)
    await a.send("chat", {"scope": "space", "text": "no id"})
    error = await a.expect("chat-error")
    assert error["code"] == "missing_client_id" and error["clientId"] is None
    assert (await say(a, "space", " \n\t "))["code"] == "empty"
    assert (await say(a, "space", "a\u0000\u0007"))["code"] == "invalid_characters"
    assert (await say(a, "space", "x" * 2001))["code"] == "too_long"
    assert (await say(a, "space", "x" * 2000))["type"] == "chat-ack"
    await b.expect("chat")
    await a.send("chat", {"scope": "shout", "text": "hi", "clientId": "c1"})
    error = await a.expect("chat-error")
    assert error["code"] == "invalid_message" and error["clientId"] == "c1"
    await a.send("chat", {"scope": "shout", "text": "hi"})
    assert (await a.expect("error"))["code"] == "invalid_message"
    log = world.gateway.event_log
    assert isinstance(log, MemoryEventLog) and len(log.records(CHAT_TOPIC)) == 1
    await b.quiet()


async def test_chat_rate_limit(world: World) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    (_, a), (_, b) = await crowd(world, space, 2)
    results = [(await say(a, "space", f"m{i}"))["type"] for i in range(11)]
    assert results == ["chat-ack"] * 10 + ["chat-error"]
    world.clock.advance(0.2)  # 5 a second: one more
    assert (await say(a, "space", "again"))["type"] == "chat-ack"
    del b


async def test_chat_needs_the_capability(world: World) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    _, token = await world.user()
    client, _ = await world.join(space, token)
    await client.send("chat", {"scope": "space", "text": "hi", "clientId": "c1"})
    assert (await client.expect("error"))["code"] == "no_capability"


class HeldLog:
    """The gateway's own in-memory log, except that appends of the conversations in `held`
    wait until `release` (as a slow partition would)."""

    def __init__(self, log: MemoryEventLog, held: set[bytes]) -> None:
        self.log = log
        self.held = held
        self.waiting = 0
        self._released = asyncio.Event()

    async def append(self, topic: str, key: bytes, value: bytes) -> None:
        await self.append_soon(topic, key, value)

    def append_soon(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[None]:
        if key not in self.held:
            return self.log.append_soon(topic, key, value)
        self.waiting += 1
        return asyncio.ensure_future(self._append_later(topic, key, value))

    async def _append_later(self, topic: str, key: bytes, value: bytes) -> None:
        await self._released.wait()
        await self.log.append(topic, key, value)

    def release(self) -> None:
        self._released.set()

    async def ping(self) -> None:
        await self.log.ping()

    async def close(self) -> None:
        await self.log.close()

    def reader(self, group: str, topics: Sequence[str]) -> MemoryReader:
        return self.log.reader(group, topics)


@contextlib.contextmanager
def holding(world: World, *conversations: str) -> Iterator[HeldLog]:
    """The gateway's chat appends of `conversations` wait until released, and whatever
    happens they are released on leaving: a held append would stall the teardown."""
    gateway = world.gateway
    assert isinstance(gateway.event_log, MemoryEventLog)
    held = HeldLog(gateway.event_log, {c.encode() for c in conversations})
    gateway.chat = ChatRelay(
        ChatPipeline(held, gateway.pubsub, origin=gateway.origin),
        gateway.directory,
        world.clock,
        gateway.chat_space,
        radius_tiles=world.gateway.settings.chat_radius,
    )
    try:
        yield held
    finally:
        held.release()


async def test_replies_keep_the_order_of_the_messages_while_they_are_stored_concurrently(
    world: World,
) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    (_, a), (_, b) = await crowd(world, space, 2)
    with holding(world, f"space:{space}") as held:
        await replies_in_order(a, b, held)


async def replies_in_order(a: Client, b: Client, held: HeldLog) -> None:
    chats = [
        {"scope": "space", "text": "slow", "clientId": "1"},  # its append waits
        {"scope": "nearby", "text": "fast", "clientId": "2"},  # another conversation
        {"scope": "space", "text": "x" * 2001, "clientId": "3"},  # refused at once
        {"scope": "nearby", "text": "fast too", "clientId": "4"},
    ]
    for chat in chats:
        await a.send("chat", chat)
    # The nearby messages were stored and shown, behind the held one: their acks wait.
    assert [(await b.expect("chat"))["text"] for _ in range(2)] == ["fast", "fast too"]
    await a.quiet()
    assert held.waiting == 1
    held.release()
    replies = [await a.recv() for _ in chats]
    assert [(r["type"], r["payload"]["clientId"]) for r in replies] == [
        ("chat-ack", "1"),
        ("chat-ack", "2"),
        ("chat-error", "3"),
        ("chat-ack", "4"),
    ]
    assert (await b.expect("chat"))["text"] == "slow"
    stored = [json.loads(r.value)["text"] for r in held.log.records(CHAT_TOPIC)]
    assert stored == ["fast", "fast too", "slow"]


async def test_a_connection_has_a_bounded_number_of_messages_in_flight(
    world_factory: WorldFactory,
) -> None:
    world: World = await world_factory(chat_rate_per_s=1000, chat_burst=1000)
    space = await world.space(20, 20, areas=SPAWN)
    (_, a), (_, b) = await crowd(world, space, 2)
    with holding(world, f"space:{space}") as held:
        await bounded(a, b, held)


async def bounded(a: Client, b: Client, held: HeldLog) -> None:
    count = MAX_IN_FLIGHT + 3
    for n in range(count):
        await a.send("chat", {"scope": "space", "text": f"m{n}", "clientId": str(n)})
    await a.quiet()
    # The reader stopped reading while MAX_IN_FLIGHT appends were under way.
    assert held.waiting == MAX_IN_FLIGHT
    held.release()
    replies = [await a.recv() for _ in range(count)]
    assert [r["payload"]["clientId"] for r in replies] == [str(n) for n in range(count)]
    assert {r["type"] for r in replies} == {"chat-ack"}
    assert [(await b.expect("chat"))["text"] for _ in range(count)] == [
        f"m{n}" for n in range(count)
    ]
    assert held.waiting == count
