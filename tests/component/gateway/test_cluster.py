"""Several gateways serving one space: in-process gateways on one database, one in-memory
pub/sub broker and one set of in-memory leases, each on a port of its own, with real
WebSocket clients. A user on one gateway and a user on another see one world."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from metaverse.core.ids import SpaceId
from metaverse.gateway.bridge import SpaceBridge
from tests.component.gateway.clusters import CAPS, TTL_S, Cluster, frame_of, pair_in_a_call


async def test_the_contract_exchange_with_its_clients_on_two_gateways(
    cluster_of: Callable[..., Any],
) -> None:
    cluster: Cluster = await cluster_of()
    first, second = cluster.nodes
    space_id = await first.space(10, 10)
    ann_id, ann_token = await first.user("ann")
    bob_id, bob_token = await first.user("bob")
    ann, ann_joined = await first.join(space_id, ann_token)
    bob, bob_joined = await second.join(space_id, bob_token)
    assert cluster.hosts(space_id) == [0]
    assert isinstance(second.gateway.bridges[SpaceId(space_id)], SpaceBridge)
    # The second joiner sees the first where they stand; the first sees them arrive.
    spawn = bob_joined["spawn"]
    assert bob_joined["users"] == [
        {"userId": ann_id, "x": ann_joined["spawn"]["x"], "y": ann_joined["spawn"]["y"]}
    ]
    assert await ann.expect("user-joined") == {"userId": bob_id, **spawn}
    # A far move is refused to the mover only; a one-cell step is seen by the other.
    await bob.send("move", {"x": spawn["x"] + 3, "y": spawn["y"]})
    assert await bob.expect("movement-rejected") == spawn
    await bob.send("move", {"x": spawn["x"] + 1, "y": spawn["y"]})
    assert await ann.expect("movement") == {
        "userId": bob_id,
        "x": spawn["x"] + 1,
        "y": spawn["y"],
    }
    await bob.ws.close()
    assert await ann.expect("user-left") == {"userId": bob_id}
    await ann.quiet()
    # The bridge is gone with its last user.
    await asyncio.sleep(0.05)
    assert SpaceId(space_id) not in second.gateway.bridges


async def test_calls_signaling_presence_and_chat_cross_gateways(
    cluster_of: Callable[..., Any],
) -> None:
    cluster: Cluster = await cluster_of()
    first, second = cluster.nodes
    space_id = await first.space(10, 10)
    ann_id, ann_token = await first.user("ann")
    bob_id, bob_token = await first.user("bob")
    ann, ann_joined = await first.join(space_id, ann_token, capabilities=CAPS)
    bob, _ = await second.join(
        space_id, bob_token, capabilities=CAPS, resume={**ann_joined["spawn"]}
    )
    # Resumed on ann's cell: they are near, and in one call.
    ann_call = await frame_of(ann, "call-joined")
    bob_call = await frame_of(bob, "call-joined")
    assert ann_call["callId"] == bob_call["callId"]
    assert [p["userId"] for p in bob_call["peers"]] == [ann_id]
    # Signaling is relayed within the call, both ways.
    offer = {"type": "offer", "sdp": "v=0"}
    await bob.send("video-call-signaling", {"to": ann_id, "data": offer})
    assert await frame_of(ann, "video-call-signaling") == {"from": bob_id, "data": offer}
    await ann.send("video-call-signaling", {"to": bob_id, "data": {"candidate": "c"}})
    assert (await frame_of(bob, "video-call-signaling"))["from"] == ann_id
    # Presence from the bridge reaches the host's user, and back.
    await bob.send("status", {"status": "busy", "text": "writing"})
    assert await frame_of(ann, "status") == {"userId": bob_id, "status": "busy", "text": "writing"}
    # Chat: the space, and nearby (the bridge knows where its user stands).
    for scope in ("space", "nearby"):
        await bob.send("chat", {"scope": scope, "text": f"hi {scope}", "clientId": scope})
        assert (await frame_of(bob, "chat-ack"))["clientId"] == scope
        received = await frame_of(ann, "chat")
        assert (received["scope"], received["text"]) == (scope, f"hi {scope}")
    await ann.send("chat", {"scope": "nearby", "text": "hello", "clientId": "a"})
    assert (await frame_of(bob, "chat"))["text"] == "hello"
    # Do not disturb on the bridge's side takes bob out of the call for ann too.
    await bob.send("status", {"status": "dnd"})
    assert (await frame_of(ann, "call-left"))["callId"] == ann_call["callId"]
    # Signaling outside a call is refused, across gateways as here.
    await bob.send("video-call-signaling", {"to": ann_id, "data": offer})
    assert (await frame_of(bob, "signal-rejected"))["to"] == ann_id


async def test_a_surviving_gateway_takes_over_a_space_whose_host_died(
    cluster_of: Callable[..., Any],
) -> None:
    cluster: Cluster = await cluster_of(3)
    first, second, third = cluster.nodes
    space_id = await first.space(12, 12)
    _, ann_token = await first.user("ann")
    bob_id, bob_token = await first.user("bob")
    cy_id, cy_token = await first.user("cy")
    await first.join(space_id, ann_token, capabilities=CAPS)
    bob, bob_joined = await second.join(space_id, bob_token, capabilities=CAPS)
    cy, _ = await third.join(space_id, cy_token, capabilities=CAPS)
    await frame_of(bob, "user-joined")
    assert cluster.hosts(space_id) == [0]
    await cluster.crash(0)
    await cluster.expire_leases()
    async with asyncio.timeout(5):
        while not cluster.hosts(space_id):  # noqa: ASYNC110 - the leases' loops decide
            await asyncio.sleep(0.05)
    new_host = cluster.hosts(space_id)[0]
    assert new_host in (1, 2)
    # Both survivors are in the rebuilt space, each told afresh, where they stood.
    rejoined = await frame_of(bob, "space-joined")
    assert rejoined["spawn"] == bob_joined["spawn"]
    await frame_of(cy, "space-joined")
    spawn = rejoined["spawn"]
    await bob.send("move", {"x": spawn["x"] + 1, "y": spawn["y"]})
    moved = await frame_of(cy, "movement")
    assert moved == {"userId": bob_id, "x": spawn["x"] + 1, "y": spawn["y"]}
    # Ann comes back through a survivor where she stood.
    _, again = await second.join(space_id, ann_token, capabilities=CAPS)
    assert {u["userId"] for u in again["users"]} == {bob_id, cy_id}


async def test_a_loaded_gateway_hands_a_new_space_to_the_least_loaded_one(
    cluster_of: Callable[..., Any],
) -> None:
    # A capacity of one connection: any gateway with a client is over the threshold.
    cluster: Cluster = await cluster_of(2, gateway_capacity=1, host_load_threshold=0.5)
    first = cluster.nodes[0]
    space_id = await first.space(10, 10)
    _, ann_token = await first.user("ann")
    await first.connect()  # an idle client: the first gateway is loaded
    await asyncio.sleep(TTL_S)  # both have reported their load
    await first.join(space_id, ann_token)
    assert cluster.hosts(space_id) == [1]
    assert SpaceId(space_id) in first.gateway.bridges


async def test_a_draining_host_hands_its_space_over_and_nobody_else_notices(
    cluster_of: Callable[..., Any],
) -> None:
    cluster: Cluster = await cluster_of(2)
    second = cluster.nodes[1]
    pair = await pair_in_a_call(cluster)
    space_id, ann_id, ann_token, ann, ann_joined = (
        pair.space_id,
        pair.ann_id,
        pair.ann_token,
        pair.ann,
        pair.ann_joined,
    )
    bob_id, bob, call = pair.bob_id, pair.bob, pair.call
    await asyncio.sleep(TTL_S)  # both gateways have reported themselves live
    assert cluster.hosts(space_id) == [0]
    await cluster.drain(0)
    # Ann's gateway said it restarts; the space lives on, on the second gateway.
    assert (await ann.closed())[0] == 1012
    await cluster.hosted_by(space_id, 1)
    # She comes back through the other gateway where she stood, in the same call.
    again, joined = await second.join(space_id, ann_token, capabilities=CAPS)
    assert joined["spawn"] == ann_joined["spawn"]
    assert [u["userId"] for u in joined["users"]] == [bob_id]
    rejoined_call = await frame_of(again, "call-joined")
    assert rejoined_call["callId"] == call["callId"]
    assert [p["userId"] for p in rejoined_call["peers"]] == [bob_id]
    # Bob saw nothing of it: no one left, no call changed.
    await bob.quiet(0.3)
    # And the space goes on: ann's step reaches bob.
    spawn = joined["spawn"]
    await again.send("move", {"x": spawn["x"] + 1, "y": spawn["y"]})
    assert await frame_of(bob, "movement") == {
        "userId": ann_id,
        "x": spawn["x"] + 1,
        "y": spawn["y"],
    }


async def test_a_draining_bridge_keeps_its_users_in_the_space_until_they_return(
    cluster_of: Callable[..., Any],
) -> None:
    cluster: Cluster = await cluster_of(3)
    first, second, third = cluster.nodes
    space_id = await first.space(10, 10)
    ann_id, ann_token = await first.user("ann")
    _, bob_token = await first.user("bob")
    ann, ann_joined = await first.join(space_id, ann_token, capabilities=CAPS)
    bob, _ = await second.join(
        space_id, bob_token, capabilities=CAPS, resume={**ann_joined["spawn"]}
    )
    call = await frame_of(ann, "call-joined")
    await cluster.drain(1)
    assert (await bob.closed())[0] == 1012
    again, joined = await third.join(space_id, bob_token, capabilities=CAPS)
    assert (await frame_of(again, "call-joined"))["callId"] == call["callId"]
    assert joined["spawn"] == ann_joined["spawn"]
    assert [u["userId"] for u in joined["users"]] == [ann_id]
    await ann.quiet(0.3)


async def test_a_user_who_comes_back_while_the_handoff_is_read_waits_for_it(
    cluster_of: Callable[..., Any],
) -> None:
    cluster: Cluster = await cluster_of(2)
    second = cluster.nodes[1]
    pair = await pair_in_a_call(cluster)
    space_id, ann_token, ann, bob, call = (
        pair.space_id,
        pair.ann_token,
        pair.ann,
        pair.bob,
        pair.call,
    )
    await asyncio.sleep(TTL_S)
    # The successor reads the space slowly: ann's new join reaches it meanwhile.
    directory = second.gateway.directory
    read = directory.space_map
    release = asyncio.Event()

    async def slow_space_map(space: str) -> Any:
        await release.wait()
        return await read(space)

    directory.space_map = slow_space_map  # type: ignore[method-assign,assignment]
    await cluster.drain(0)
    assert (await ann.closed())[0] == 1012
    coming_back = asyncio.create_task(second.join(space_id, ann_token, capabilities=CAPS))
    await asyncio.sleep(0.2)
    release.set()
    again, _ = await coming_back
    assert (await frame_of(again, "call-joined"))["callId"] == call["callId"]
    await bob.quiet(0.3)


async def test_joins_racing_a_take_over_leave_the_bridged_users_in_place(
    cluster_of: Callable[..., Any],
) -> None:
    cluster: Cluster = await cluster_of(2)
    first, second = cluster.nodes
    space_id = await first.space(12, 12)
    _, ann_token = await first.user("ann")
    _, bob_token = await first.user("bob")
    await first.join(space_id, ann_token, capabilities=CAPS)
    bob, _ = await second.join(space_id, bob_token, capabilities=CAPS)
    await cluster.crash(0)
    cluster.clock.advance(TTL_S + 0.01)  # the host's lease is gone
    # Several people reach the survivor at once, before its own lease check: each join
    # finds the lease free, and one take-over of the bridge must serve them all.
    tokens = [(await first.user(f"new{n}"))[1] for n in range(5)]
    directory = second.gateway.directory
    read = directory.space_map
    release = asyncio.Event()

    async def slow_space_map(space: str) -> Any:
        await release.wait()  # the take-over reads the space while the others arrive
        return await read(space)

    directory.space_map = slow_space_map  # type: ignore[method-assign,assignment]
    joining = [asyncio.create_task(second.join(space_id, t, capabilities=CAPS)) for t in tokens]
    await asyncio.sleep(0.3)
    release.set()
    joined = await asyncio.gather(*joining)
    assert len(joined) == 5
    assert cluster.hosts(space_id) == [1]
    frames = await bob.drain(0.3)
    assert all(f["type"] != "error" for f in frames), frames
    assert bob.ws.close_code is None
