"""Area of interest, batching, profiles and presence over the wire."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from metaverse.db.models import User
from tests.component.gateway.conftest import World
from tests.component.gateway.test_calls import walk

SPAWN = [("spawn", 5, 5, 1, 1, "spawn")]


async def test_interest_filters_movement_and_announces_enter_and_leave(world: World) -> None:
    space = await world.space(60, 20, areas=SPAWN)
    _, watcher_token = await world.user()
    walker_id, walker_token = await world.user()
    walker, _ = await world.join(space, walker_token)
    # Viewport x 0..9 plus a margin of 4 tiles: the region ends at x = 13.
    viewport = {"x": 0, "y": 0, "width": 10, "height": 10}
    watcher, joined = await world.join(
        space, watcher_token, capabilities=["interest"], viewport=viewport
    )
    assert joined["capabilities"] == ["interest"]
    assert joined["inView"] == [walker_id]
    await walker.expect("user-joined")

    await walk(world, walker, [(x, 5) for x in range(6, 14)])
    for x in range(6, 14):
        assert await watcher.expect("movement") == {"userId": walker_id, "x": x, "y": 5}
    await walk(world, walker, [(14, 5)])
    assert await watcher.expect("interest-leave") == {"userId": walker_id}
    await walk(world, walker, [(15, 5), (16, 5)])
    await watcher.quiet()
    await walk(world, walker, [(15, 5), (14, 5), (13, 5)])
    assert await watcher.expect("interest-enter") == {"userId": walker_id, "x": 13, "y": 5}
    await watcher.quiet()

    # Moving the viewport brings people in and out too.
    await watcher.send("viewport", {"x": 40, "y": 0, "width": 10, "height": 10})
    assert await watcher.expect("interest-leave") == {"userId": walker_id}
    await watcher.send("viewport", {"x": 10, "y": 0, "width": 10, "height": 10})
    assert await watcher.expect("interest-enter") == {"userId": walker_id, "x": 13, "y": 5}

    # user-left reaches everyone whatever their viewport.
    await watcher.send("viewport", {"x": 40, "y": 0, "width": 10, "height": 10})
    await watcher.expect("interest-leave")
    await walker.ws.close()
    assert await watcher.expect("user-left") == {"userId": walker_id}


async def test_viewport_needs_the_interest_capability(world: World) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    _, token = await world.user()
    client, _ = await world.join(space, token)
    await client.send("viewport", {"x": 0, "y": 0, "width": 5, "height": 5})
    assert (await client.expect("error"))["code"] == "no_capability"


async def test_batch_coalesces_frames_in_order(world: World) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    _walker_id, walker_token = await world.user()
    _, watcher_token = await world.user()
    walker, _ = await world.join(space, walker_token)
    watcher, _ = await world.join(space, watcher_token, capabilities=["batch"])
    await walker.expect("user-joined")
    await walk(world, walker, [(6, 5), (7, 5), (8, 5), (9, 5)])
    frames: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    while len(messages) < 4:
        frame = await watcher.recv()
        frames.append(frame)
        messages += frame["payload"]["messages"] if frame["type"] == "batch" else [frame]
    assert [m["payload"]["x"] for m in messages] == [6, 7, 8, 9]
    assert all(m["type"] == "movement" for m in messages)
    # Four moves within a tick: at most two writes (a slot's turn may fall between them).
    assert "batch" in [frame["type"] for frame in frames] and len(frames) <= 2


async def test_profiles_capability_adds_who_people_are(world: World) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    ada_id, ada_token = await world.user("ada")
    _, bob_token = await world.user("bob")
    ada, _ = await world.join(space, ada_token, capabilities=["profiles", "unknown-thing"])
    _, joined = await world.join(space, bob_token, capabilities=["profiles"])
    entry = joined["users"][0]
    assert entry["userId"] == ada_id and entry["username"] == "ada"
    assert {"displayName", "avatarUrl", "status"} <= set(entry)
    arrived = await ada.expect("user-joined")
    assert arrived["username"] == "bob" and arrived["status"] == "available"


async def test_unknown_capabilities_are_ignored_and_the_accepted_echoed(world: World) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    _, token = await world.user()
    _, joined = await world.join(space, token, capabilities=["batch", "telepathy", "proximity"])
    assert joined["capabilities"] == ["batch", "proximity"]


async def test_status_is_broadcast_to_presence_clients_and_kept(world: World) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    ada_id, ada_token = await world.user()
    _, bob_token = await world.user()
    ada, _ = await world.join(space, ada_token, capabilities=["presence"])
    bob, _ = await world.join(space, bob_token, capabilities=["presence", "profiles"])
    await ada.expect("user-joined")
    await ada.send("status", {"status": "away", "text": "lunch"})
    expected = {"userId": ada_id, "status": "away", "text": "lunch"}
    assert await ada.expect("status") == expected
    assert await bob.expect("status") == expected
    await ada.send("status", {"status": "sleeping"})
    assert (await ada.expect("error"))["code"] == "invalid_message"

    # It survives a reconnect: stored on the user, shown to others on the way back in.
    await ada.ws.close()
    await bob.expect("user-left")
    # Saved in the background, so that a status change never waits for the database.
    for _ in range(100):
        async with world.context.sessions() as session:
            stored = await session.scalar(select(User).where(User.id == ada_id))
        if stored is not None and (stored.status, stored.status_text) == ("away", "lunch"):
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the status was not stored")
    await world.join(space, ada_token)
    back = await bob.expect("user-joined")
    assert (back["status"], back["statusText"]) == ("away", "lunch")
