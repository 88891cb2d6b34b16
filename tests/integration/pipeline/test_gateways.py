"""One world across gateway processes: `metaverse api`, gateways, the consumer, PostgreSQL,
Redis and Kafka, each a real process or service. The clients of one space sit on different
gateways; what each sees is what it would see on one."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.integration.pipeline.conftest import ChatClient, Frame, World

pytestmark = pytest.mark.integration

CAPS = ("profiles", "proximity", "presence", "chat", "interest")
# The lease's default time to live is 3 s; a survivor takes a space over within it, plus
# a third of it for its next look, plus the time to load the space.
FAILOVER_S = 5.0


def payload(frame: Frame) -> Frame:
    value: Frame = frame["payload"]
    return value


async def next_of(client: ChatClient, type_: str, after: int = 0, timeout_s: float = 5.0) -> Frame:
    """The first frame of `type_` received after the first `after` frames."""
    frame = await client.wait_for(
        lambda f: f["type"] == type_ and client.frames.index(f) >= after, type_, timeout_s
    )
    return payload(frame)


async def test_the_contract_exchange_with_its_clients_on_two_gateways(world: World) -> None:
    ann_account, bob_account = await world.user(), await world.user()
    space_id = await world.space(ann_account)
    ann = await world.join(world.platform.gateway1, ann_account, space_id, ())
    bob = await world.join(world.platform.gateway2, bob_account, space_id, ())
    ann_joined, bob_joined = payload(ann.frames[0]), payload(bob.frames[0])
    spawn = bob_joined["spawn"]
    assert bob_joined["users"] == [{"userId": ann_account.user_id, **ann_joined["spawn"]}]
    assert await next_of(ann, "user-joined") == {"userId": bob_account.user_id, **spawn}
    seen = len(bob.frames)
    await bob.send("move", {"x": spawn["x"] + 5, "y": spawn["y"]})
    assert await next_of(bob, "movement-rejected", seen) == spawn
    await bob.send("move", {"x": spawn["x"] + 1, "y": spawn["y"]})
    assert await next_of(ann, "movement") == {
        "userId": bob_account.user_id,
        "x": spawn["x"] + 1,
        "y": spawn["y"],
    }
    await bob.close()
    assert await next_of(ann, "user-left") == {"userId": bob_account.user_id}


async def test_calls_signaling_presence_and_interest_across_gateways(world: World) -> None:
    ann_account, bob_account, cy_account = (
        await world.user(),
        await world.user(),
        await world.user(),
    )
    space_id = await world.space(ann_account)
    ann = await world.join(world.platform.gateway1, ann_account, space_id, CAPS)
    spawn = payload(ann.frames[0])["spawn"]
    # Bob resumes on ann's cell through the other gateway: they are near at once.
    bob = await world.join(world.platform.gateway2, bob_account, space_id, CAPS, resume={**spawn})
    assert payload(bob.frames[0])["spawn"] == spawn
    ann_call, bob_call = await next_of(ann, "call-joined"), await next_of(bob, "call-joined")
    assert ann_call["callId"] == bob_call["callId"]
    offer = {"type": "offer", "sdp": "v=0"}
    await bob.send("video-call-signaling", {"to": ann_account.user_id, "data": offer})
    relayed = await next_of(ann, "video-call-signaling")
    assert relayed == {"from": bob_account.user_id, "data": offer}
    await ann.send("status", {"status": "away", "text": "back soon"})
    assert await next_of(bob, "status") == {
        "userId": ann_account.user_id,
        "status": "away",
        "text": "back soon",
    }
    # Interest: cy, on the second gateway, watches the corner farthest from them (spawns are
    # anywhere in the 30 by 30 space; the 3-tile view and its 4-tile margin stay in the
    # other half).
    corner = {"x": 0 if spawn["x"] >= 15 else 25, "y": 0 if spawn["y"] >= 15 else 25}
    cy = await world.join(
        world.platform.gateway2,
        cy_account,
        space_id,
        CAPS,
        viewport={**corner, "width": 3, "height": 3},
    )
    assert ann_account.user_id not in payload(cy.frames[0])["inView"]
    seen = len(cy.frames)
    await ann.send("move", {"x": spawn["x"] + 1, "y": spawn["y"]})
    await next_of(bob, "movement")
    assert [f for f in cy.frames[seen:] if f["type"] == "movement"] == []
    # Outside a call, signaling is refused.
    await ann.send("status", {"status": "dnd"})
    await next_of(bob, "call-left")
    seen = len(bob.frames)
    await bob.send("video-call-signaling", {"to": ann_account.user_id, "data": offer})
    assert (await next_of(bob, "signal-rejected", seen))["to"] == ann_account.user_id


async def test_a_survivor_hosts_the_space_within_seconds_of_its_host_being_killed(
    world: World,
) -> None:
    platform = world.platform
    doomed = platform.start_gateway("gateway3")
    doomed.wait_ready("/healthz")
    try:
        ann_account, bob_account, cy_account = (
            await world.user(),
            await world.user(),
            await world.user(),
        )
        space_id = await world.space(ann_account)
        await world.join(doomed, ann_account, space_id, CAPS)  # the host: first to arrive
        bob = await world.join(platform.gateway1, bob_account, space_id, CAPS)
        cy = await world.join(platform.gateway2, cy_account, space_id, CAPS)
        await next_of(bob, "user-joined")
        seen_bob, seen_cy = len(bob.frames), len(cy.frames)
        doomed.kill()
        killed_s = time.monotonic()
        # The survivors are told afresh (a new space-joined) by the new host.
        rejoined = await next_of(bob, "space-joined", seen_bob, FAILOVER_S + 2)
        await next_of(cy, "space-joined", seen_cy, FAILOVER_S + 2)
        spawn = rejoined["spawn"]
        seen = len(cy.frames)
        await bob.send("move", {"x": spawn["x"] + 1, "y": spawn["y"]})
        moved = await next_of(cy, "movement", seen)
        elapsed_s = time.monotonic() - killed_s
        assert moved["userId"] == bob_account.user_id
        assert elapsed_s < FAILOVER_S, f"the first move was accepted {elapsed_s:.1f} s after"
        # Ann's client reconnects to a survivor and comes back where she stood.
        ann = await world.join(platform.gateway2, ann_account, space_id, CAPS)
        others = {u["userId"] for u in payload(ann.frames[0])["users"]}
        assert others == {bob_account.user_id, cy_account.user_id}
    finally:
        if doomed.process.poll() is None:
            doomed.kill()


async def test_a_gateway_stopped_with_sigterm_hands_its_space_over_and_the_call_stays(
    world: World,
) -> None:
    platform = world.platform
    leaving = platform.start_gateway("gateway-restarting")
    leaving.wait_ready("/healthz")
    try:
        ann_account, bob_account = await world.user(), await world.user()
        space_id = await world.space(ann_account)
        ann = await world.join(leaving, ann_account, space_id, CAPS)
        spawn = payload(ann.frames[0])["spawn"]
        bob = await world.join(platform.gateway1, bob_account, space_id, CAPS, resume={**spawn})
        call = await next_of(bob, "call-joined")
        said = await bob.say("space", "before the restart")
        await ann.receives(said)
        seen = len(bob.frames)
        # Both gateways have published their load by now (every second at the default TTL).
        await asyncio.sleep(1.2)
        assert await asyncio.to_thread(leaving.stop) == 0
        await ann.ws.wait_closed()
        assert ann.ws.close_code == 1012
        # Ann's client comes back through another gateway, where she stood, in her call.
        again = await world.join(platform.gateway2, ann_account, space_id, CAPS, resume={**spawn})
        assert payload(again.frames[0])["spawn"] == spawn
        rejoined = await next_of(again, "call-joined")
        assert rejoined["callId"] == call["callId"]
        after = await again.say("space", "after the restart")
        await bob.receives(after)
        # Bob saw nobody leave and no call change.
        changes = {"user-left", "user-joined", "call-left", "call-peer-left", "call-peer-joined"}
        assert [f for f in bob.frames[seen:] if f["type"] in changes] == []
    finally:
        if leaving.process.poll() is None:
            leaving.kill()
