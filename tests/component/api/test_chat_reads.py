"""Read positions: marking a conversation read, unread counts, and an upsert that only
moves forward, even when requests race."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import CollectorRegistry

from metaverse.backends.eventlog import MemoryEventLog
from metaverse.chat.messages import CHAT_TOPIC, ChatMessage
from metaverse.consumer.service import Consumer
from metaverse.consumer.writers import writer_for
from metaverse.db.ids import new_id
from tests.component.conftest import Api


async def _space(api: Api, headers: dict[str, str], visibility: str = "public") -> str:
    response = await api.client.post(
        "/api/v1/space",
        json={"name": "s", "dimensions": "20x20", "visibility": visibility},
        headers=headers,
    )
    space_id: str = response.json()["spaceId"]
    return space_id


class Messages:
    """Messages appended to the event log and stored by running the consumer."""

    def __init__(self, api: Api, space_id: str) -> None:
        self.api = api
        self.space_id = space_id

    async def put(self, sender: str, scope: str, conversation: str, **extra: Any) -> str:
        log = self.api.context.event_log
        assert isinstance(log, MemoryEventLog)
        message = ChatMessage(
            id=new_id(),
            space_id=self.space_id,
            scope=scope,  # type: ignore[arg-type]
            conversation=conversation,
            sender_id=sender,
            sender_name="someone",
            text="hello",
            ts_ms=1,
            **extra,
        )
        await log.append(CHAT_TOPIC, conversation.encode(), message.to_bytes())
        return message.id

    async def store(self) -> None:
        log = self.api.context.event_log
        assert isinstance(log, MemoryEventLog)
        consumer = Consumer(
            log,
            writer_for(self.api.context.engine),
            CollectorRegistry(),
            group="t",
            batch_size=1000,
            batch_wait_s=0.01,
            clock=self.api.clock,
        )
        try:
            await consumer.process(log.records(CHAT_TOPIC))
        finally:
            await consumer.close()


async def _unread(api: Api, headers: dict[str, str], space_id: str) -> dict[str, Any]:
    response = await api.client.get(f"/api/v1/chat/read?spaceId={space_id}", headers=headers)
    assert response.status_code == 200, response.text
    return {c["key"]: (c["messageId"], c["unread"]) for c in response.json()["conversations"]}


async def _mark(api: Api, headers: dict[str, str], message_id: str) -> Any:
    return await api.client.put(
        "/api/v1/chat/read", json={"messageId": message_id}, headers=headers
    )


async def test_direct_messages_count_until_read(api: Api) -> None:
    a_id, a = await api.user()
    b_id, b = await api.user()
    space_id = await _space(api, a)
    messages = Messages(api, space_id)
    low, high = sorted((a_id, b_id))
    dm = f"dm:{low}:{high}"
    first = await messages.put(a_id, "direct", dm, to=b_id)
    second = await messages.put(a_id, "direct", dm, to=b_id)
    await messages.store()

    assert await _unread(api, b, space_id) == {f"direct:{a_id}": (None, 2)}
    # The sender's own messages are never unread for them.
    assert await _unread(api, a, space_id) == {}

    marked = await _mark(api, b, first)
    assert marked.status_code == 200, marked.text
    assert marked.json() == {"key": f"direct:{a_id}", "messageId": first}
    assert await _unread(api, b, space_id) == {f"direct:{a_id}": (first, 1)}
    await _mark(api, b, second)
    assert await _unread(api, b, space_id) == {f"direct:{a_id}": (second, 0)}


async def test_space_and_areas_count_once_read(api: Api) -> None:
    a_id, a = await api.user()
    _, b = await api.user()
    space_id = await _space(api, a)
    messages = Messages(api, space_id)
    old = await messages.put(a_id, "space", f"space:{space_id}")
    lounge = await messages.put(a_id, "area", f"area:{space_id}:lounge", area="lounge")
    await messages.store()
    assert await _unread(api, b, space_id) == {}

    assert (await _mark(api, b, old)).json() == {"key": "space", "messageId": old}
    assert (await _mark(api, b, lounge)).json()["key"] == "area:lounge"
    await messages.put(a_id, "space", f"space:{space_id}")
    await messages.put(a_id, "area", f"area:{space_id}:lounge", area="lounge")
    await messages.store()
    assert await _unread(api, b, space_id) == {"space": (old, 1), "area:lounge": (lounge, 1)}


async def test_positions_only_move_forward(api: Api) -> None:
    a_id, a = await api.user()
    b_id, b = await api.user()
    space_id = await _space(api, a)
    messages = Messages(api, space_id)
    low, high = sorted((a_id, b_id))
    ids = [await messages.put(a_id, "direct", f"dm:{low}:{high}", to=b_id) for _ in range(6)]
    await messages.store()

    await _mark(api, b, ids[3])
    older = await _mark(api, b, ids[1])
    assert older.status_code == 200
    assert older.json()["messageId"] == ids[3]

    # Tabs racing with every position at once: the newest wins, whatever the order.
    results = await asyncio.gather(*(_mark(api, b, i) for i in reversed(ids)))
    assert all(r.status_code == 200 for r in results)
    assert await _unread(api, b, space_id) == {f"direct:{a_id}": (ids[5], 0)}


async def test_only_what_the_caller_may_read(api: Api) -> None:
    a_id, a = await api.user()
    b_id, b = await api.user()
    _, c = await api.user()
    space_id = await _space(api, a)
    private_id = await _space(api, a, "private")
    messages = Messages(api, space_id)
    low, high = sorted((a_id, b_id))
    dm = await messages.put(a_id, "direct", f"dm:{low}:{high}", to=b_id)
    nearby = await messages.put(a_id, "nearby", f"nearby:{space_id}")
    hidden = await Messages(api, private_id).put(a_id, "space", f"space:{private_id}")
    await messages.store()

    for headers, message_id, status in [
        (c, dm, 400),  # someone else's direct conversation
        (b, nearby, 400),  # nearby keeps no history
        (b, hidden, 403),  # a private space b is not in
        (b, "nope", 400),
    ]:
        response = await _mark(api, headers, message_id)
        assert response.status_code == status, response.text
    unknown = await api.client.get("/api/v1/chat/read?spaceId=nope", headers=b)
    assert unknown.status_code == 400
    closed = await api.client.get(f"/api/v1/chat/read?spaceId={private_id}", headers=b)
    assert closed.status_code == 403
    anonymous = await api.client.put("/api/v1/chat/read", json={"messageId": dm})
    assert anonymous.status_code == 403


async def test_room_messages_count_for_members(api: Api) -> None:
    a_id, a = await api.user()
    _, b = await api.user()
    space_id = await _space(api, a)
    room = await api.client.post(
        "/api/v1/chatroom", json={"spaceId": space_id, "name": "team"}, headers=a
    )
    room_id = room.json()["id"]
    messages = Messages(api, space_id)
    first = await messages.put(a_id, "room", f"room:{room_id}", room_id=room_id)
    await messages.store()
    assert await _unread(api, b, space_id) == {}
    await api.client.post(f"/api/v1/chatroom/{room_id}/join", headers=b)
    assert await _unread(api, b, space_id) == {f"room:{room_id}": (None, 1)}
    # A private room left behind no longer counts, though its position stays.
    await api.client.patch(f"/api/v1/chatroom/{room_id}", json={"private": True}, headers=a)
    assert (await _mark(api, b, first)).status_code == 200
    await api.client.post(f"/api/v1/chatroom/{room_id}/leave", headers=b)
    assert await _unread(api, b, space_id) == {}


async def test_a_guest_keeps_read_positions_in_their_space(api: Api) -> None:
    a_id, a = await api.user()
    space_id = await _space(api, a)
    await api.client.patch(f"/api/v1/space/{space_id}", json={"guests": True}, headers=a)
    entry = await api.client.post(
        f"/api/v1/space/{space_id}/guests", json={"displayName": "Visitor"}
    )
    assert entry.status_code == 200, entry.text
    guest_id = entry.json()["userId"]
    guest = {"authorization": f"Bearer {entry.json()['token']}"}
    messages = Messages(api, space_id)
    low, high = sorted((a_id, guest_id))
    first = await messages.put(a_id, "direct", f"dm:{low}:{high}", to=guest_id)
    await messages.put(a_id, "direct", f"dm:{low}:{high}", to=guest_id)
    await messages.store()
    assert (await _mark(api, guest, first)).status_code == 200
    assert await _unread(api, guest, space_id) == {f"direct:{a_id}": (first, 1)}
    other = await _space(api, a)
    refused = await api.client.get(f"/api/v1/chat/read?spaceId={other}", headers=guest)
    assert refused.status_code == 403
