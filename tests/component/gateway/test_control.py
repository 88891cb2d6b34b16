"""Changes made through the API reach the live space at once: the API and the gateway share
one pub/sub (as in `metaverse serve`), the API's requests go through its real routes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from metaverse.api.app import create_app
from metaverse.protocol.control import CONTROL_CHANNEL, MapChanged
from tests.component.gateway.conftest import Client, World

LIVE = ["live", "profiles", "presence", "chat"]


@pytest.fixture
async def http(world: World) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(world.context))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def frame_of(client: Client, type_: str) -> dict[str, Any]:
    """The next frame of `type_`, skipping others."""
    while True:
        frame = await client.recv()
        if frame["type"] == type_:
            payload: dict[str, Any] = frame["payload"]
            return payload


async def owned_space(world: World, **options: Any) -> tuple[str, str, str]:
    """(space id, owner id, owner token)."""
    owner_id, token = await world.user()
    return await world.space(owner=owner_id, **options), owner_id, token


async def test_deleting_a_space_closes_everyone_in_it_at_once(
    world: World, http: httpx.AsyncClient
) -> None:
    space_id, _, owner_token = await owned_space(world)
    (_, ann), (_, bob) = await world.user(), await world.user()
    old, _ = await world.join(space_id, ann)  # no capabilities: the original protocol
    new, _ = await world.join(space_id, bob, capabilities=LIVE)
    started_s = time.monotonic()
    response = await http.delete(f"/api/v1/space/{space_id}", headers=auth(owner_token))
    assert response.status_code == 200, response.text
    for client in (old, new):
        error = await frame_of(client, "error")
        assert error["code"] == "space_deleted"
        assert (await client.closed())[0] == 4004
    assert time.monotonic() - started_s < 1.0
    assert space_id not in world.gateway.hosts
    # Joining it again is refused like any unknown space.
    client = await world.connect()
    await client.send("join", {"spaceId": space_id, "token": ann})
    assert (await client.expect("error"))["code"] == "unknown_space"


async def test_removing_a_member_of_a_private_space_closes_their_connection(
    world: World, http: httpx.AsyncClient
) -> None:
    space_id, owner_id, owner_token = await owned_space(world, visibility="private")
    member_id, member_token = await world.user()
    added = await http.post(
        f"/api/v1/space/{space_id}/members",
        json={"userId": member_id},
        headers=auth(owner_token),
    )
    assert added.status_code == 200, added.text
    owner, _ = await world.join(space_id, owner_token, capabilities=LIVE)
    member, _ = await world.join(space_id, member_token, capabilities=LIVE)
    await frame_of(owner, "user-joined")
    removed = await http.request(
        "DELETE",
        f"/api/v1/space/{space_id}/members",
        json={"userId": member_id},
        headers=auth(owner_token),
    )
    assert removed.status_code == 200, removed.text
    assert (await frame_of(member, "error"))["code"] == "access_revoked"
    assert (await member.closed())[0] == 4003
    assert (await frame_of(owner, "user-left"))["userId"] == member_id
    # The owner stays, and can go on.
    await owner.send("status", {"status": "busy"})
    assert (await frame_of(owner, "status"))["userId"] == owner_id


async def test_making_a_space_private_removes_everyone_who_is_not_a_member(
    world: World, http: httpx.AsyncClient
) -> None:
    space_id, _, owner_token = await owned_space(world)
    guest_id, guest_token = await world.user()
    member_id, member_token = await world.user()
    await http.post(
        f"/api/v1/space/{space_id}/members", json={"userId": member_id}, headers=auth(owner_token)
    )
    guest, _ = await world.join(space_id, guest_token)
    member, _ = await world.join(space_id, member_token)
    await frame_of(guest, "user-joined")
    changed = await http.patch(
        f"/api/v1/space/{space_id}", json={"visibility": "private"}, headers=auth(owner_token)
    )
    assert changed.status_code == 200, changed.text
    assert (await frame_of(guest, "error"))["code"] == "access_revoked"
    assert (await guest.closed())[0] == 4003
    assert (await frame_of(member, "user-left"))["userId"] == guest_id
    await member.quiet()


async def test_an_element_placed_through_the_api_is_a_wall_at_once(
    world: World, http: httpx.AsyncClient
) -> None:
    space_id, _, owner_token = await owned_space(world, width=10, height=10)
    async with world.context.sessions() as session:
        admin_id = await world.context.accounts.signup(session, "boss", "password1", "admin")
    admin_token = world.context.accounts.access_tokens.issue(admin_id, "admin")
    created = await http.post(
        "/api/v1/admin/element",
        json={"imageUrl": "/w.png", "width": 1, "height": 1, "static": True},
        headers=auth(admin_token),
    )
    element_id = created.json()["id"]
    _, ann = await world.user()
    live, joined = await world.join(space_id, ann, capabilities=LIVE)
    old, _ = await world.join(space_id, (await world.user())[1])
    x, y = joined["spawn"]["x"], joined["spawn"]["y"]
    target = (x + 1, y) if x + 1 < 10 else (x - 1, y)
    placed = await http.post(
        "/api/v1/space/element",
        json={"elementId": element_id, "spaceId": space_id, "x": target[0], "y": target[1]},
        headers=auth(owner_token),
    )
    assert placed.status_code == 200, placed.text
    changed = await frame_of(live, "map-changed")
    assert [(e["x"], e["y"]) for e in changed["elements"]] == [target]
    assert changed["elements"][0]["id"] == placed.json()["id"]
    assert changed["areas"] == []
    await live.send("move", {"x": target[0], "y": target[1]})
    assert await frame_of(live, "movement-rejected") == {"x": x, "y": y}
    # Removed again: the cell is free, and the client is told.
    removed = await http.request(
        "DELETE",
        "/api/v1/space/element",
        json={"id": placed.json()["id"]},
        headers=auth(owner_token),
    )
    assert removed.status_code == 200, removed.text
    assert (await frame_of(live, "map-changed"))["elements"] == []
    await live.send("move", {"x": target[0], "y": target[1]})
    assert await frame_of(old, "movement") == {"userId": joined["userId"], "x": target[0], "y": y}
    # A client without `live` never sees the new frame.
    assert all(f["type"] != "map-changed" for f in await old.drain())


async def test_a_profile_change_shows_in_the_space_at_once(
    world: World, http: httpx.AsyncClient
) -> None:
    space_id, _, _ = await owned_space(world)
    ann_id, ann = await world.user()
    _, bob = await world.user()
    watcher, _ = await world.join(space_id, bob, capabilities=LIVE)
    old, _ = await world.join(space_id, (await world.user())[1], capabilities=["presence"])
    await world.join(space_id, ann, capabilities=LIVE)
    await frame_of(watcher, "user-joined")
    changed = await http.patch(
        "/api/v1/user/me",
        json={"displayName": "Ann B.", "statusText": "at lunch", "status": "away"},
        headers=auth(ann),
    )
    assert changed.status_code == 200, changed.text
    status = await frame_of(watcher, "status")
    assert status == {"userId": ann_id, "status": "away", "text": "at lunch"}
    profile = await frame_of(watcher, "profile")
    assert profile["userId"] == ann_id
    assert profile["displayName"] == "Ann B."
    assert (profile["status"], profile["statusText"]) == ("away", "at lunch")
    # Presence clients see the status, only `live` ones the profile.
    assert (await frame_of(old, "status"))["status"] == "away"
    assert all(f["type"] != "profile" for f in await old.drain())


async def test_what_the_gateway_cant_act_on_is_ignored(world: World) -> None:
    space_id, _, owner_token = await owned_space(world)
    client, _ = await world.join(space_id, owner_token, capabilities=LIVE)
    for data in (b"junk", b'{"v": 99, "type": "space-deleted", "spaceId": "x"}'):
        await world.context.pubsub.publish(CONTROL_CHANNEL, data)
    # A change for a space not hosted here is nothing to do either.
    await world.context.announce(MapChanged(space_id="elsewhere"))
    await client.send("status", {"status": "busy"})
    assert (await client.expect("status"))["status"] == "busy"
    await asyncio.sleep(0.05)
    assert space_id in world.gateway.hosts
