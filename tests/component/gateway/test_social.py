"""`wave` (the `social` capability): calls someone over, never someone in do not disturb,
a few at a time, across gateways as on one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.component.gateway.clusters import Cluster, frame_of
from tests.component.gateway.conftest import World

SOCIAL = ["social", "presence"]


async def test_a_wave_reaches_its_person_with_the_wavers_name(world: World) -> None:
    space_id = await world.space()
    ann_id, ann = await world.user("ann")
    bob_id, bob = await world.user("bob")
    waver, _ = await world.join(space_id, ann, capabilities=SOCIAL)
    waved, _ = await world.join(space_id, bob, capabilities=SOCIAL)
    await waver.send("wave", {"to": bob_id})
    assert await frame_of(waved, "wave") == {"from": ann_id, "name": "ann"}
    # Nobody else hears of it, the waver included.
    await waver.drain()
    assert all(f["type"] != "wave" for f in await waver.drain())


async def test_do_not_disturb_holds_a_wave_back_and_the_waver_is_told(world: World) -> None:
    space_id = await world.space()
    _, ann = await world.user("ann")
    bob_id, bob = await world.user("bob")
    waver, _ = await world.join(space_id, ann, capabilities=SOCIAL)
    waved, _ = await world.join(space_id, bob, capabilities=SOCIAL)
    await waved.send("status", {"status": "dnd"})
    await frame_of(waver, "status")
    await waved.drain()
    await waver.send("wave", {"to": bob_id})
    assert (await frame_of(waver, "error"))["code"] == "do_not_disturb"
    assert all(f["type"] != "wave" for f in await waved.drain())


async def test_waves_need_the_capability_a_present_person_and_a_slow_hand(world: World) -> None:
    space_id = await world.space()
    _, ann = await world.user("ann")
    bob_id, bob = await world.user("bob")
    plain, _ = await world.join(space_id, bob)  # bob has no `social`
    waver, _ = await world.join(space_id, ann, capabilities=SOCIAL)
    await waver.send("wave", {"to": bob_id})
    assert (await frame_of(waver, "error"))["code"] == "unknown_recipient"
    await waver.send("wave", {"to": "nobody"})
    assert (await frame_of(waver, "error"))["code"] == "unknown_recipient"
    await waver.send("wave", {"to": bob_id})
    assert (await frame_of(waver, "error"))["code"] == "unknown_recipient"
    # Three at once (a burst), then one every 2 s: the fourth is refused.
    await waver.send("wave", {"to": bob_id})
    assert (await frame_of(waver, "error"))["code"] == "rate_limited"
    _, cat = await world.user("cat")
    other, _ = await world.join(space_id, cat)
    await other.send("wave", {"to": bob_id})
    assert (await frame_of(other, "error"))["code"] == "no_capability"
    assert all(f["type"] != "wave" for f in await plain.drain())


async def test_a_wave_crosses_gateways(cluster_of: Callable[..., Any]) -> None:
    cluster: Cluster = await cluster_of(2)
    first, second = cluster.nodes
    space_id = await first.space()
    ann_id, ann = await first.user("ann")
    bob_id, bob = await first.user("bob")
    host_side, _ = await first.join(space_id, ann, capabilities=SOCIAL)
    bridged, _ = await second.join(space_id, bob, capabilities=SOCIAL)
    await bridged.send("wave", {"to": ann_id})
    assert await frame_of(host_side, "wave") == {"from": bob_id, "name": "bob"}
    await host_side.send("wave", {"to": bob_id})
    assert await frame_of(bridged, "wave") == {"from": ann_id, "name": "ann"}
