"""The character rule at the gateway: a string no database can store is refused with an
`error` (or `chat-error`) frame, the same on SQLite and PostgreSQL; the connection stays
open and nothing changes. PostgreSQL refuses NUL in any query, so before the rule a NUL in
a `roomId`, `to` or `spaceId` raised out of the database lookup and closed the connection
with 1011, and a NUL in a status text was broadcast and then lost when it was saved."""

from __future__ import annotations

import json
from typing import Any

import pytest

from metaverse.backends.eventlog import MemoryEventLog
from metaverse.chat.messages import CHAT_TOPIC
from metaverse.core.ids import SpaceId, UserId
from metaverse.db.models import ChatRoom, ChatRoomMember, User
from tests.component.gateway.conftest import World, WorldFactory
from tests.component.gateway.test_chat import crowd

SPAWN = [("spawn", 5, 5, 1, 1, "spawn")]
CAPS = ["chat", "presence", "proximity"]


@pytest.fixture
async def world(world_factory: WorldFactory, database_url: str) -> World:
    made: World = await world_factory(database_url=database_url)
    return made


async def room(world: World, space: str, *members: str) -> str:
    async with world.context.sessions() as session:
        chat_room = ChatRoom(space_id=space, name="r", owner_id=members[0])
        session.add(chat_room)
        await session.flush()
        for member in members:
            session.add(ChatRoomMember(room_id=chat_room.id, user_id=member))
        await session.commit()
        return chat_room.id


@pytest.mark.parametrize(
    "field", ["roomId", "to", "clientId-less roomId", "text", "clientId"], ids=str
)
async def test_chat_with_a_control_character_is_refused_and_the_connection_stays_open(
    world: World, field: str
) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    (a_id, a), (b_id, b) = await crowd(world, space, 2, CAPS)
    room_id = await room(world, space, a_id, b_id)
    payload: dict[str, Any] = {"scope": "room", "text": "hi", "clientId": "c1", "roomId": room_id}
    if field in ("roomId", "clientId-less roomId"):
        payload["roomId"] = room_id + "\u0000"
    if field == "clientId-less roomId":
        del payload["clientId"]
    if field == "to":
        payload = {"scope": "direct", "text": "hi", "clientId": "c1", "to": "u\u0000"}
    if field == "text":
        payload["text"] = "hi\u0000"
    if field == "clientId":
        payload["clientId"] = "c\u0000"
    await a.send("chat", payload)
    reply = await a.recv()
    if field in ("clientId-less roomId", "clientId"):  # no clientId to answer to
        assert reply["type"] == "error", reply
    else:
        assert reply["type"] == "chat-error", reply
        assert reply["payload"]["clientId"] == "c1" and not reply["payload"]["retryable"]
    assert reply["payload"]["code"] == "invalid_characters"
    assert "U+0000" in reply["payload"]["message"]
    # Still open, nothing stored or delivered; the next message goes through.
    await a.send("chat", {"scope": "room", "text": "again", "clientId": "c2", "roomId": room_id})
    assert (await a.expect("chat-ack"))["clientId"] == "c2"
    assert [frame["payload"]["text"] for frame in await b.drain()] == ["again"]
    log = world.gateway.event_log
    assert isinstance(log, MemoryEventLog) and len(log.records(CHAT_TOPIC)) == 1


async def test_a_refused_chat_message_is_answered_in_turn(world: World) -> None:
    """Replies come in the order the messages were sent, refused ones included."""
    space = await world.space(10, 10, areas=SPAWN)
    (a_id, a), (b_id, _) = await crowd(world, space, 2, CAPS)
    room_id = await room(world, space, a_id, b_id)
    frames = [
        {"scope": "space", "text": "stored", "clientId": "c1"},
        {"scope": "room", "text": "bad", "clientId": "c2", "roomId": "r\u0000"},
        {"scope": "room", "text": "looked up", "clientId": "c3", "roomId": room_id},
        {"scope": "direct", "text": "bad", "clientId": "c4", "to": b_id + "\u0007"},
        {"scope": "space", "text": "last", "clientId": "c5"},
    ]
    for payload in frames:  # without waiting for replies
        await a.ws.send(json.dumps({"type": "chat", "payload": payload}))
    replies = [await a.recv() for _ in frames]
    assert [(r["type"], r["payload"]["clientId"]) for r in replies] == [
        ("chat-ack", "c1"),
        ("chat-error", "c2"),
        ("chat-ack", "c3"),
        ("chat-error", "c4"),
        ("chat-ack", "c5"),
    ]


async def test_status_text_with_a_control_character_is_refused_and_not_broadcast(
    world: World,
) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    (a_id, a), (_, b) = await crowd(world, space, 2, CAPS)
    await a.send("status", {"status": "busy", "text": "out\u0000"})
    error = await a.expect("error")
    assert error["code"] == "invalid_characters" and "text" in error["message"]
    await b.quiet()
    host = world.gateway.hosts[SpaceId(space)]
    assert host.space.status(UserId(a_id)) == ("available", "")
    await a.send("status", {"status": "busy", "text": "out"})
    assert await b.expect("status") == {"userId": a_id, "status": "busy", "text": "out"}


async def test_a_space_id_with_a_control_character_is_refused_and_the_connection_stays_open(
    world: World,
) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    _, token = await world.user()
    client = await world.connect()
    await client.send("join", {"spaceId": space + "\u0000", "token": token})
    assert (await client.expect("error"))["code"] == "invalid_characters"
    await client.send("join", {"spaceId": space, "token": token})
    assert (await client.expect("space-joined"))["spawn"] == {"x": 5, "y": 5}


async def test_signaling_data_nested_too_deep_is_refused_not_a_fault(world: World) -> None:
    """`data` is relayed as it came: nested deeper than the encoder writes (254 levels),
    relaying it raised while handling the frame (1011)."""
    space = await world.space(10, 10, areas=SPAWN)
    (_, a), (b_id, b) = await crowd(world, space, 2, CAPS)
    data: Any = {}
    for _ in range(300):
        data = [data]
    await a.send("video-call-signaling", {"to": b_id, "data": data})
    assert (await a.expect("error"))["code"] == "invalid_message"
    await b.quiet()
    await a.send("video-call-signaling", {"to": b_id, "data": {"type": "offer", "sdp": "v=0\r\n"}})
    relayed = await b.expect("video-call-signaling")
    assert relayed["data"] == {"type": "offer", "sdp": "v=0\r\n"}


async def test_a_refused_status_is_never_saved(world: World) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    (a_id, a), _ = await crowd(world, space, 2, CAPS)
    await a.send("status", {"status": "dnd", "text": "\u0085"})
    await a.expect("error")
    async with world.context.sessions() as session:
        user = await session.get(User, a_id)
        assert user is not None and user.status == "available"
