"""Chat between people on different gateway processes, and from the HTTP API to a
gateway: Kafka first (durable), then Redis pub/sub to every gateway, then the consumer
into PostgreSQL. Also the roles' health and readiness endpoints."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.pipeline.conftest import Platform, World, http_text
from tests.loopback import http_json

# One worker for the module, so that its processes start once. (pytest-xdist 3.8 ignores
# xdist_group under pytest 9.2, pytest-dev/pytest-xdist#1386: until that is fixed, the
# module may run on both workers, each with a platform of its own.)
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("pipeline-delivery")]

QUIET_S = 0.5  # after the wanted frame arrived, how long an unwanted one may still come


async def test_space_and_direct_messages_cross_gateways(world: World) -> None:
    platform = world.platform
    alice, bob, carol = await world.user(), await world.user(), await world.user()
    space_id = await world.space(alice, bob, carol)
    bob_client = await world.join(platform.gateway2, bob, space_id)
    carol_client = await world.join(platform.gateway2, carol, space_id)
    alice_client = await world.join(platform.gateway1, alice, space_id)

    # The whole space, from gateway 1 to both people on gateway 2.
    to_space = await alice_client.say("space", "hello, everyone")
    for receiver in (bob_client, carol_client):
        received = await receiver.receives(to_space)
        assert received["scope"] == "space"
        assert received["from"] == {"userId": alice.user_id, "username": alice.username}
        assert received["text"] == "hello, everyone"
    assert to_space not in {chat["id"] for chat in alice_client.chats()}  # not echoed

    # Direct, both ways: only the addressee gets it, wherever they are connected.
    to_bob = await alice_client.say("direct", "just you, bob", to=bob.user_id)
    received = await bob_client.receives(to_bob)
    assert received["scope"] == "direct" and received["to"] == bob.user_id
    to_alice = await bob_client.say("direct", "thanks, alice", to=alice.user_id)
    assert (await alice_client.receives(to_alice))["from"]["userId"] == bob.user_id
    await asyncio.sleep(QUIET_S)
    assert {chat["id"] for chat in carol_client.chats()} == {to_space}

    stored = set(await world.wait_stored(space_id, {to_space, to_bob, to_alice}))
    assert stored == {to_space, to_bob, to_alice}


async def test_a_room_message_posted_over_http_reaches_members_on_gateways(
    world: World,
) -> None:
    platform = world.platform
    alice, bob, carol = await world.user(), await world.user(), await world.user()
    space_id = await world.space(alice)
    api = platform.api.url + "/api/v1"
    status, room = await asyncio.to_thread(
        http_json, "POST", f"{api}/chatroom", {"spaceId": space_id, "name": "desk"}, alice.token
    )
    assert status == 200, room
    status, body = await asyncio.to_thread(
        http_json, "POST", f"{api}/chatroom/{room['id']}/join", {}, bob.token
    )
    assert status == 200, body
    bob_client = await world.join(platform.gateway2, bob, space_id)
    carol_client = await world.join(platform.gateway2, carol, space_id)  # not in the room
    alice_client = await world.join(platform.gateway1, alice, space_id)

    status, posted = await asyncio.to_thread(
        http_json,
        "POST",
        f"{api}/chatroom/{room['id']}/messages",
        {"text": "standup in five"},
        alice.token,
    )
    assert status == 200, posted
    received = await bob_client.receives(posted["id"])
    assert received["scope"] == "room" and received["roomId"] == room["id"]
    assert received["text"] == "standup in five" and received["ts"] == posted["ts"]
    await asyncio.sleep(QUIET_S)
    assert carol_client.chats() == [] and alice_client.chats() == []

    await world.wait_stored(space_id, {posted["id"]})
    status, history = await asyncio.to_thread(
        http_json, "GET", f"{api}/chatroom/{room['id']}/messages", None, bob.token
    )
    assert status == 200, history
    assert [m["id"] for m in history["messages"]] == [posted["id"]], history


def test_roles_report_health_and_readiness(platform: Platform) -> None:
    consumer = platform.consumer.url
    assert http_json("GET", consumer + "/healthz") == (200, {"status": "ok"})
    assert http_json("GET", consumer + "/readyz") == (
        200,
        {"status": "ok", "checks": {"database": "ok", "kafka": "ok"}},
    )
    assert "metaverse_consumer_records_total" in http_text(consumer + "/metrics")

    assert http_json("GET", platform.api.url + "/readyz") == (
        200,
        {"status": "ok", "checks": {"database": "ok", "redis": "ok", "kafka": "ok"}},
    )
    for gateway in (platform.gateway1, platform.gateway2):
        assert http_json("GET", gateway.url + "/healthz") == (200, {"status": "ok"})
