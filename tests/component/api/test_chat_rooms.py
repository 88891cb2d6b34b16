"""Chat rooms, posting over HTTP, deletion with tombstones, and history pagination."""

from __future__ import annotations

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


async def _room(api: Api, headers: dict[str, str], space_id: str, **extra: Any) -> dict[str, Any]:
    response = await api.client.post(
        "/api/v1/chatroom", json={"spaceId": space_id, "name": "team", **extra}, headers=headers
    )
    assert response.status_code == 200, response.text
    room: dict[str, Any] = response.json()
    return room


async def _store(api: Api) -> None:
    """Run what the API appended through the consumer, as the consumer service would."""
    log = api.context.event_log
    assert isinstance(log, MemoryEventLog)
    consumer = Consumer(
        log,
        writer_for(api.context.engine),
        CollectorRegistry(),
        group="t",
        batch_size=1000,
        batch_wait_s=0.01,
        clock=api.clock,
    )
    try:
        await consumer.process(log.records(CHAT_TOPIC))
    finally:
        await consumer.close()


async def test_room_lifecycle_and_visibility(api: Api) -> None:
    owner_id, owner = await api.user()
    other_id, other = await api.user()
    space_id = await _space(api, owner)
    public = await _room(api, owner, space_id, description="everyone")
    secret = await _room(api, owner, space_id, private=True)
    assert public["ownerId"] == owner_id and public["member"] is True and public["private"] is False

    listed = (await api.client.get(f"/api/v1/chatroom?spaceId={space_id}", headers=other)).json()
    assert [(r["id"], r["member"]) for r in listed["rooms"]] == [(public["id"], False)]
    assert (
        await api.client.get(f"/api/v1/chatroom/{secret['id']}", headers=other)
    ).status_code == 404

    assert (
        await api.client.post(f"/api/v1/chatroom/{public['id']}/join", headers=other)
    ).status_code == 200
    members = (
        await api.client.get(f"/api/v1/chatroom/{public['id']}/members", headers=other)
    ).json()
    assert {m["userId"] for m in members["members"]} == {owner_id, other_id}
    assert (
        await api.client.post(f"/api/v1/chatroom/{secret['id']}/join", headers=other)
    ).status_code == 404

    invited = await api.client.post(
        f"/api/v1/chatroom/{secret['id']}/members", json={"userId": other_id}, headers=owner
    )
    assert invited.status_code == 200
    assert (await api.client.get(f"/api/v1/chatroom/{secret['id']}", headers=other)).json()[
        "member"
    ]

    renamed = await api.client.patch(
        f"/api/v1/chatroom/{public['id']}", json={"name": "all"}, headers=owner
    )
    assert renamed.json()["name"] == "all"
    assert (
        await api.client.patch(
            f"/api/v1/chatroom/{public['id']}", json={"name": "mine"}, headers=other
        )
    ).status_code == 403
    assert (
        await api.client.post(f"/api/v1/chatroom/{public['id']}/leave", headers=other)
    ).status_code == 200
    assert (
        await api.client.post(f"/api/v1/chatroom/{public['id']}/leave", headers=owner)
    ).status_code == 403
    assert (
        await api.client.delete(f"/api/v1/chatroom/{public['id']}", headers=other)
    ).status_code == 403
    assert (
        await api.client.delete(f"/api/v1/chatroom/{public['id']}", headers=owner)
    ).status_code == 200
    assert (
        await api.client.get(f"/api/v1/chatroom/{public['id']}", headers=owner)
    ).status_code == 404


async def test_room_validation(api: Api) -> None:
    _, user = await api.user()
    space_id = await _space(api, user)
    for body in (
        {"spaceId": space_id},
        {"spaceId": space_id, "name": ""},
        {"spaceId": space_id, "name": "x", "private": "yes"},
        {"spaceId": "nope", "name": "x"},
        {"name": "x"},
    ):
        assert (
            await api.client.post("/api/v1/chatroom", json=body, headers=user)
        ).status_code == 400
    _, stranger = await api.user()
    private_space = await _space(api, user, "private")
    refused = await api.client.post(
        "/api/v1/chatroom", json={"spaceId": private_space, "name": "x"}, headers=stranger
    )
    assert refused.status_code == 403
    assert (await api.client.get("/api/v1/chatroom", headers=user)).status_code == 400


async def test_posting_history_and_deletion(api: Api) -> None:
    owner_id, owner = await api.user()
    _, member = await api.user()
    _, outsider = await api.user()
    space_id = await _space(api, owner)
    room = await _room(api, owner, space_id)
    await api.client.post(f"/api/v1/chatroom/{room['id']}/join", headers=member)

    ids = []
    for index in range(7):
        api.clock.advance(1)
        posted = await api.client.post(
            f"/api/v1/chatroom/{room['id']}/messages",
            json={"text": f"<i>m{index}</i>"},
            headers=owner,
        )
        assert posted.status_code == 200
        ids.append(posted.json()["id"])
    refused = await api.client.post(
        f"/api/v1/chatroom/{room['id']}/messages", json={"text": "hi"}, headers=outsider
    )
    assert refused.status_code == 403
    empty = await api.client.post(
        f"/api/v1/chatroom/{room['id']}/messages", json={"text": "  "}, headers=owner
    )
    assert empty.status_code == 400
    # Half a UTF-16 pair is no character: refused, never a 500.
    half = await api.client.post(
        f"/api/v1/chatroom/{room['id']}/messages",
        content=b'{"text": "\\ud800"}',
        headers={**owner, "content-type": "application/json"},
    )
    assert half.status_code == 400
    await _store(api)

    url = f"/api/v1/chatroom/{room['id']}/messages"
    first = (await api.client.get(f"{url}?limit=3", headers=member)).json()
    assert [m["text"] for m in first["messages"]] == ["<i>m6</i>", "<i>m5</i>", "<i>m4</i>"]
    assert first["messages"][0]["from"]["userId"] == owner_id
    second = (
        await api.client.get(f"{url}?limit=3&before={first['nextCursor']}", headers=member)
    ).json()
    assert [m["text"] for m in second["messages"]] == ["<i>m3</i>", "<i>m2</i>", "<i>m1</i>"]
    last = (
        await api.client.get(f"{url}?limit=3&before={second['nextCursor']}", headers=member)
    ).json()
    assert [m["text"] for m in last["messages"]] == ["<i>m0</i>"] and last["nextCursor"] is None
    for limit in (0, 101):
        assert (await api.client.get(f"{url}?limit={limit}", headers=member)).status_code == 400

    assert (await api.client.delete(f"{url}/{ids[0]}", headers=member)).status_code == 403
    assert (await api.client.delete(f"{url}/{ids[0]}", headers=owner)).status_code == 200
    assert (await api.client.delete(f"{url}/unknown", headers=owner)).status_code == 404
    tail = (await api.client.get(f"{url}?limit=1&before={ids[1]}", headers=member)).json()
    assert tail["messages"][0] == {**tail["messages"][0], "id": ids[0], "deleted": True, "text": ""}


async def test_space_area_and_direct_history(api: Api) -> None:
    a_id, a = await api.user()
    b_id, b = await api.user()
    space_id = await _space(api, a)
    log = api.context.event_log
    assert isinstance(log, MemoryEventLog)

    async def put(scope: str, conversation: str, **extra: Any) -> None:
        message = ChatMessage(
            id=new_id(),
            space_id=space_id,
            scope=scope,  # type: ignore[arg-type]
            conversation=conversation,
            sender_id=a_id,
            sender_name="a",
            text=scope,
            ts_ms=1,
            **extra,
        )
        await log.append(CHAT_TOPIC, conversation.encode(), message.to_bytes())

    await put("space", f"space:{space_id}")
    await put("area", f"area:{space_id}:lounge", area="lounge")
    low, high = sorted((a_id, b_id))
    await put("direct", f"dm:{low}:{high}", to=b_id)
    await put("nearby", f"nearby:{space_id}")
    await _store(api)

    space = (await api.client.get(f"/api/v1/space/{space_id}/messages", headers=b)).json()
    assert [m["text"] for m in space["messages"]] == ["space"]
    area = (
        await api.client.get(f"/api/v1/space/{space_id}/messages?area=lounge", headers=b)
    ).json()
    assert [m["area"] for m in area["messages"]] == ["lounge"]
    direct = (await api.client.get(f"/api/v1/dm/{a_id}/messages", headers=b)).json()
    assert [m["to"] for m in direct["messages"]] == [b_id]
    assert (await api.client.get(f"/api/v1/dm/{b_id}/messages", headers=a)).json() == direct
    _, c = await api.user()
    assert (await api.client.get(f"/api/v1/dm/{a_id}/messages", headers=c)).json()["messages"] == []
