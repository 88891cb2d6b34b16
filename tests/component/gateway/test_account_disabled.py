"""A platform admin disables an account: its connections close at once (`account_disabled`,
4001) on every gateway, in spaces hosted there or bridged, and it can't join again. The
API's requests go through its real routes, on the pub/sub the gateways share."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from metaverse.accounts.tokens import Principal
from metaverse.api.app import create_app
from metaverse.api.context import ApiContext
from metaverse.core.ids import SpaceId
from metaverse.db.models import User
from metaverse.gateway.directory import UserProfile
from metaverse.protocol.control import AccountDisabled
from tests.component.gateway.clusters import CAPS, Cluster, frame_of
from tests.component.gateway.conftest import World

LIVE = ["live", "profiles", "presence", "chat"]


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
async def http(world: World) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(world.context))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _admin(context: ApiContext) -> str:
    """An admin's token (the account's role is what the API checks)."""
    async with context.sessions() as session:
        admin_id = await context.accounts.signup(session, "admin", "password1", "admin")
    return context.accounts.access_tokens.issue(admin_id, "admin")


async def test_a_disabled_account_is_closed_in_every_space_and_cant_join_again(
    world: World, http: httpx.AsyncClient
) -> None:
    admin_token = await _admin(world.context)
    first, second = await world.space(), await world.space()
    ann_id, ann_token = await world.user()
    _, bob_token = await world.user()
    bob, _ = await world.join(first, bob_token, capabilities=LIVE)
    ann_here, _ = await world.join(first, ann_token, capabilities=LIVE)
    ann_there, _ = await world.join(second, ann_token)  # the original protocol
    await frame_of(bob, "user-joined")

    started_s = time.monotonic()
    response = await http.patch(
        f"/api/v1/admin/users/{ann_id}", json={"disabled": True}, headers=auth(admin_token)
    )
    assert response.status_code == 200, response.text
    for client in (ann_here, ann_there):
        error = await frame_of(client, "error")
        assert error["code"] == "account_disabled"
        assert (await client.closed())[0] == 4001
    assert time.monotonic() - started_s < 1.0
    assert (await frame_of(bob, "user-left"))["userId"] == ann_id
    # Its token is still signed and unexpired: the join reads the account.
    client = await world.connect()
    await client.send("join", {"spaceId": first, "token": ann_token})
    assert (await client.expect("error"))["code"] == "account_disabled"
    assert (await client.closed())[0] == 4001
    # Bob goes on.
    await bob.send("status", {"status": "busy"})
    assert (await frame_of(bob, "status"))["status"] == "busy"


async def test_a_disabled_account_bridged_to_another_gateway_is_closed(
    cluster_of: Callable[..., Any],
) -> None:
    cluster: Cluster = await cluster_of()
    host, bridge = cluster.nodes
    space_id = await host.space(10, 10)
    ann_id, ann_token = await host.user("ann")
    _, bob_token = await host.user("bob")
    bob, _ = await host.join(space_id, bob_token, capabilities=CAPS)
    ann, _ = await bridge.join(space_id, ann_token, capabilities=CAPS)
    assert cluster.hosts(space_id) == [0]
    await frame_of(bob, "user-joined")
    async with cluster.context.sessions() as session:
        user = await session.get(User, ann_id)
        assert user is not None
        user.disabled_at = user.created_at
        await session.commit()
    await cluster.context.announce(AccountDisabled(user_id=ann_id))
    assert (await frame_of(ann, "error"))["code"] == "account_disabled"
    assert (await ann.closed())[0] == 4001
    assert (await frame_of(bob, "user-left"))["userId"] == ann_id
    await bob.quiet()


async def test_an_account_disabled_while_its_join_reads_the_database_is_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    space_id = await world.space()
    ann_id, ann_token = await world.user()
    directory = world.gateway.directory
    admission = directory.admission

    async def read_then_disabled(
        space: str, principal: Principal
    ) -> tuple[bool | None, UserProfile | None]:
        read = await admission(space, principal)  # read while the account is still enabled
        world.gateway.controls.apply(AccountDisabled(user_id=principal.user_id))
        return read

    monkeypatch.setattr(directory, "admission", read_then_disabled)
    client = await world.connect()
    await client.send("join", {"spaceId": space_id, "token": ann_token})
    assert (await client.expect("error"))["code"] == "account_disabled"
    assert (await client.closed())[0] == 4001
    assert ann_id not in world.gateway.hosts[SpaceId(space_id)].connections
    # A join that starts afterwards (the account enabled again, say) is not held back.
    monkeypatch.setattr(directory, "admission", admission)
    _, joined = await world.join(space_id, ann_token)
    assert joined["userId"] == ann_id


async def test_the_gateway_goes_by_the_accounts_role_now_not_the_tokens(world: World) -> None:
    owner_id, _ = await world.user()
    private = await world.space(owner=owner_id, visibility="private")
    tokens = world.context.accounts.access_tokens
    # Demoted since its token was issued: the token still says admin.
    demoted_id, _ = await world.user()
    client = await world.connect()
    await client.send("join", {"spaceId": private, "token": tokens.issue(demoted_id, "admin")})
    assert (await client.expect("error"))["code"] == "forbidden"
    assert (await client.closed())[0] == 4003
    # Promoted since: a user's token, an admin's account.
    promoted_id, _ = await world.user()
    async with world.context.sessions() as session:
        await session.execute(update(User).where(User.id == promoted_id).values(role="admin"))
        await session.commit()
    _, joined = await world.join(private, tokens.issue(promoted_id, "user"))
    assert joined["userId"] == promoted_id


async def test_an_admin_demoted_while_in_a_private_space_is_let_out(
    cluster_of: Callable[..., Any],
) -> None:
    cluster: Cluster = await cluster_of()
    host, bridge = cluster.nodes
    owner_id, owner_token = await host.user("owner")
    space_id = await host.space(10, 10, visibility="private", owner=owner_id)
    owner, _ = await host.join(space_id, owner_token, capabilities=CAPS)
    admin_token = await _admin(cluster.context)
    # Two admins in the space, neither a member: one on each gateway.
    admins = []
    for node, name in ((host, "near"), (bridge, "far")):
        user_id, _ = await node.user(name)
        async with cluster.context.sessions() as session:
            await session.execute(update(User).where(User.id == user_id).values(role="admin"))
            await session.commit()
        token = cluster.context.accounts.access_tokens.issue(user_id, "admin")
        client, _ = await node.join(space_id, token, capabilities=CAPS)
        admins.append((user_id, client))
    assert cluster.hosts(space_id) == [0]
    transport = httpx.ASGITransport(app=create_app(cluster.context))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for user_id, client in admins:
            response = await http.patch(
                f"/api/v1/admin/users/{user_id}", json={"role": "user"}, headers=auth(admin_token)
            )
            assert response.status_code == 200, response.text
            assert (await frame_of(client, "error"))["code"] == "access_revoked"
            assert (await client.closed())[0] == 4003
    left = {(await frame_of(owner, "user-left"))["userId"] for _ in admins}
    assert left == {user_id for user_id, _ in admins}
