"""`media-state` over the wire: relayed to the other members of the sender's call only, on
one gateway and across two; refused outside a call; strict payloads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.component.gateway.clusters import CAPS, Cluster, frame_of
from tests.component.gateway.conftest import World
from tests.component.gateway.test_calls import SPAWN, walk

PROXIMITY = ["proximity"]


async def test_relayed_to_the_members_of_the_call_only(world: World) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    a_id, a_token = await world.user()
    b_id, b_token = await world.user()
    _c_id, c_token = await world.user()
    _d_id, d_token = await world.user()
    a, _ = await world.join(space, a_token, capabilities=PROXIMITY)
    b, _ = await world.join(space, b_token, capabilities=PROXIMITY)
    await a.expect("user-joined")
    await a.expect("call-joined")
    await b.expect("call-joined")
    c, _ = await world.join(space, c_token, capabilities=PROXIMITY)
    await a.expect("user-joined")
    await b.expect("user-joined")
    # C joins the call of three; D is in the space without calls.
    await a.expect("call-peer-joined")
    await b.expect("call-peer-joined")
    await c.expect("call-joined")
    d, _ = await world.join(space, d_token)
    for client in (a, b, c):
        await client.expect("user-joined")

    await a.send("media-state", {"audio": False, "video": True})
    expected = {"from": a_id, "audio": False, "video": True, "screen": False}
    assert await b.expect("media-state") == expected
    assert await c.expect("media-state") == expected
    await b.send("media-state", {"audio": True, "video": False, "screen": True})
    assert await a.expect("media-state") == {
        "from": b_id,
        "audio": True,
        "video": False,
        "screen": True,
    }
    assert (await c.expect("media-state"))["from"] == b_id
    for client in (a, b, c, d):
        await client.quiet()

    # C walks out of the call: A's next state no longer reaches them.
    await walk(world, c, [(6, 5), (7, 5), (8, 5), (9, 5)])
    for _ in range(4):
        await a.expect("movement")
    await a.expect("call-peer-left")
    await c.expect("call-left")
    await a.send("media-state", {"audio": True, "video": True})
    assert (await frame_of(b, "media-state"))["audio"] is True
    for client in (c, d):
        assert all(frame["type"] != "media-state" for frame in await client.drain())


async def test_refused_outside_a_call(world: World) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    _a_id, a_token = await world.user()
    _b_id, b_token = await world.user()
    a, _ = await world.join(space, a_token, capabilities=PROXIMITY)
    await a.send("media-state", {"audio": False, "video": False})
    assert (await a.expect("error"))["code"] == "not_in_call"
    # Without the proximity capability nobody is ever in a call.
    b, _ = await world.join(space, b_token)
    await a.expect("user-joined")
    await b.send("media-state", {"audio": True, "video": True})
    assert (await b.expect("error"))["code"] == "not_in_call"
    await a.quiet()


@pytest.mark.parametrize(
    "payload",
    [
        {"audio": "false", "video": True},
        {"audio": 0, "video": True},
        {"video": True},
        {"audio": True, "video": None},
        {"audio": True, "video": True, "screen": "yes"},
    ],
)
async def test_invalid_payloads_are_refused(world: World, payload: dict[str, Any]) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    _a_id, a_token = await world.user()
    _b_id, b_token = await world.user()
    a, _ = await world.join(space, a_token, capabilities=PROXIMITY)
    b, _ = await world.join(space, b_token, capabilities=PROXIMITY)
    await a.expect("user-joined")
    await a.expect("call-joined")
    await b.expect("call-joined")
    await a.send("media-state", payload)
    assert (await a.expect("error"))["code"] == "invalid_message"
    await b.quiet()


async def test_relayed_across_gateways(cluster_of: Callable[..., Any]) -> None:
    cluster: Cluster = await cluster_of()
    first, second = cluster.nodes
    space_id = await first.space(10, 10)
    ann_id, ann_token = await first.user("ann")
    bob_id, bob_token = await first.user("bob")
    _cleo_id, cleo_token = await first.user("cleo")
    ann, ann_joined = await first.join(space_id, ann_token, capabilities=CAPS)
    bob, _ = await second.join(
        space_id, bob_token, capabilities=CAPS, resume={**ann_joined["spawn"]}
    )
    await frame_of(ann, "call-joined")
    await frame_of(bob, "call-joined")
    # Bob, on the bridge, mutes: the host relays it to ann; ann's state reaches bob.
    await bob.send("media-state", {"audio": False, "video": False})
    assert await frame_of(ann, "media-state") == {
        "from": bob_id,
        "audio": False,
        "video": False,
        "screen": False,
    }
    await ann.send("media-state", {"audio": True, "video": False, "screen": True})
    assert await frame_of(bob, "media-state") == {
        "from": ann_id,
        "audio": True,
        "video": False,
        "screen": True,
    }
    # Cleo, on the bridge too but far from the call, gets nothing and is refused.
    far = {"x": (ann_joined["spawn"]["x"] + 6) % 10, "y": (ann_joined["spawn"]["y"] + 6) % 10}
    cleo, _ = await second.join(space_id, cleo_token, capabilities=CAPS, resume=far)
    await cleo.send("media-state", {"audio": True, "video": True})
    assert (await frame_of(cleo, "error"))["code"] == "not_in_call"
    await bob.send("media-state", {"audio": True, "video": True})
    assert (await frame_of(ann, "media-state"))["audio"] is True
    frames = await cleo.drain()
    assert all(frame["type"] != "media-state" for frame in frames), frames
