"""Guests in the gateway: they enter only the space their token names, while it lets
guests in, and others see them with `guest: true`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from metaverse.api.app import create_app
from metaverse.db.models import Space
from tests.component.gateway.conftest import World

PROFILES = ["profiles", "live", "presence", "chat"]


@pytest.fixture
async def http(world: World) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(world.context))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _open_to_guests(world: World, space_id: str) -> None:
    async with world.context.sessions() as session:
        await session.execute(update(Space).where(Space.id == space_id).values(guests=True))
        await session.commit()


async def _guest(http: httpx.AsyncClient, space_id: str, name: str = "Visitor") -> Any:
    response = await http.post(f"/api/v1/space/{space_id}/guests", json={"displayName": name})
    assert response.status_code == 200, response.text
    return response.json()


async def _frame(client: Any, type_: str) -> dict[str, Any]:
    while True:
        frame = await client.recv()
        if frame["type"] == type_:
            payload: dict[str, Any] = frame["payload"]
            return payload


async def test_a_guest_enters_their_space_only_and_is_shown_as_a_guest(
    world: World, http: httpx.AsyncClient
) -> None:
    owner_id, owner_token = await world.user()
    space_id = await world.space(owner=owner_id, visibility="private")
    other_id = await world.space(owner=owner_id, visibility="public")
    await _open_to_guests(world, space_id)
    await _open_to_guests(world, other_id)
    owner, _ = await world.join(space_id, owner_token, capabilities=PROFILES)
    guest = await _guest(http, space_id)
    _, joined = await world.join(space_id, guest["token"], capabilities=PROFILES)
    mine = {u["userId"]: u for u in joined["users"]}
    assert mine[owner_id].get("guest") is None
    entered = await _frame(owner, "user-joined")
    assert entered["userId"] == guest["userId"] and entered["guest"] is True
    assert entered["displayName"] == "Visitor"
    # Another space, even one open to guests and public, is not theirs.
    client = await world.connect()
    await client.send("join", {"spaceId": other_id, "token": guest["token"]})
    assert (await client.expect("error"))["code"] == "forbidden"


async def test_a_space_closed_to_guests_refuses_them(world: World) -> None:
    owner_id, _ = await world.user()
    space_id = await world.space(owner=owner_id)
    guest_id, _ = await world.user()
    token = world.context.accounts.access_tokens.issue(guest_id, "guest", space_id=space_id)
    client = await world.connect()
    await client.send("join", {"spaceId": space_id, "token": token})
    assert (await client.expect("error"))["code"] == "forbidden"


async def test_turning_guests_off_closes_their_connections(
    world: World, http: httpx.AsyncClient
) -> None:
    owner_id, owner_token = await world.user()
    space_id = await world.space(owner=owner_id)
    await _open_to_guests(world, space_id)
    owner, _ = await world.join(space_id, owner_token, capabilities=PROFILES)
    guest = await _guest(http, space_id)
    visitor, _ = await world.join(space_id, guest["token"], capabilities=PROFILES)
    await _frame(owner, "user-joined")
    changed = await http.patch(
        f"/api/v1/space/{space_id}",
        json={"guests": False},
        headers={"authorization": f"Bearer {owner_token}"},
    )
    assert changed.status_code == 200, changed.text
    assert (await _frame(visitor, "error"))["code"] == "access_revoked"
    assert (await visitor.closed())[0] == 4003
    assert (await _frame(owner, "user-left"))["userId"] == guest["userId"]


async def test_a_guest_is_let_out_when_their_token_runs_out_and_members_are_not(
    world: World, http: httpx.AsyncClient
) -> None:
    owner_id, _ = await world.user()
    space_id = await world.space(owner=owner_id)
    await _open_to_guests(world, space_id)
    guest = await _guest(http, space_id)
    tokens = world.context.accounts.access_tokens
    # The same guest with a token that has a second left, and a member with one too.
    short = tokens.issue(guest["userId"], "guest", space_id=space_id, ttl_s=1)
    member_id, _ = await world.user()
    member_short = tokens.issue(member_id, "user", ttl_s=1)
    member, _ = await world.join(space_id, member_short, capabilities=PROFILES)
    visitor, _ = await world.join(space_id, short, capabilities=PROFILES)
    assert await _frame(member, "user-joined")
    error = await _frame(visitor, "error")
    assert error["code"] == "invalid_token"
    assert (await visitor.closed())[0] == 4001
    assert (await _frame(member, "user-left"))["userId"] == guest["userId"]
    # A member's connection outlives their access token: it was checked at `join`.
    await member.send("status", {"status": "away"})
    assert (await _frame(member, "status"))["status"] == "away"
