"""The published protocol, exactly as existing clients speak it."""

from __future__ import annotations

from tests.component.gateway.conftest import World

SPAWN = [("spawn", 5, 5, 1, 1, "spawn")]


async def test_the_contract_exchange_in_order(world: World) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    user1, token1 = await world.user()
    user2, token2 = await world.user()

    ws1, joined1 = await world.join(space, token1)
    assert list(joined1) == ["spawn", "users", "userId"]
    assert joined1 == {"spawn": {"x": 5, "y": 5}, "users": [], "userId": user1}

    ws2, joined2 = await world.join(space, token2)
    assert joined2 == {
        "spawn": {"x": 5, "y": 5},
        "users": [{"userId": user1, "x": 5, "y": 5}],
        "userId": user2,
    }
    assert await ws1.expect("user-joined") == {"userId": user2, "x": 5, "y": 5}

    await ws1.send("move", {"x": 9, "y": 9})
    assert await ws1.expect("movement-rejected") == {"x": 5, "y": 5}
    await ws1.send("move", {"x": 7, "y": 5})
    assert await ws1.expect("movement-rejected") == {"x": 5, "y": 5}
    await ws1.send("move", {"x": 6, "y": 6})
    assert await ws1.expect("movement-rejected") == {"x": 5, "y": 5}

    await ws1.send("move", {"x": 6, "y": 5})
    assert await ws2.expect("movement") == {"userId": user1, "x": 6, "y": 5}
    await ws1.quiet()

    await ws1.ws.close()
    assert await ws2.expect("user-left") == {"userId": user1}
    await ws2.quiet()


async def test_leave_message_is_seen_once(world: World) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    _, token1 = await world.user()
    user2, token2 = await world.user()
    ws1, _ = await world.join(space, token1)
    ws2, _ = await world.join(space, token2)
    await ws1.expect("user-joined")
    await ws2.send("leave")
    assert await ws1.expect("user-left") == {"userId": user2}
    await ws2.ws.close()
    await ws1.quiet(0.3)


async def test_moves_stay_inside_the_space_and_off_static_elements(world: World) -> None:
    space = await world.space(3, 3, blocked=[(1, 1)], areas=[("spawn", 0, 0, 1, 1, "spawn")])
    _, token = await world.user()
    ws, joined = await world.join(space, token)
    assert joined["spawn"] == {"x": 0, "y": 0}
    for x, y in [(-1, 0), (0, -1)]:
        await ws.send("move", {"x": x, "y": y})
        assert await ws.expect("movement-rejected") == {"x": 0, "y": 0}
    await ws.send("move", {"x": 1, "y": 0})
    await ws.quiet()
    await ws.send("move", {"x": 1, "y": 1})  # the static element
    assert await ws.expect("movement-rejected") == {"x": 1, "y": 0}
    await ws.send("move", {"x": 2, "y": 0})
    await ws.send("move", {"x": 3, "y": 0})  # off the right edge
    assert await ws.expect("movement-rejected") == {"x": 2, "y": 0}


async def test_spawn_has_a_free_right_neighbour(world: World) -> None:
    # Only (0, 0)..(1, 0) is free in the top row; every other cell is blocked.
    blocked = [(x, y) for x in range(4) for y in range(4) if not (y == 0 and x < 2)]
    space = await world.space(4, 4, blocked=blocked)
    _, token = await world.user()
    ws, joined = await world.join(space, token)
    assert joined["spawn"] == {"x": 0, "y": 0}
    await ws.send("move", {"x": 1, "y": 0})
    await ws.quiet()


async def test_a_bare_client_gets_only_contract_frames(world: World) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    _, token1 = await world.user()
    _, token2 = await world.user()
    ws1, _ = await world.join(space, token1)
    ws2, _ = await world.join(space, token2, capabilities=["proximity", "presence", "profiles"])
    await ws1.expect("user-joined")
    # Both stand on the spawn cell: near each other, so the second is in a call alone
    # (nobody else has proximity); status changes go to presence clients only.
    await ws2.send("status", {"status": "busy", "text": "writing"})
    assert (await ws2.expect("status"))["status"] == "busy"
    await ws1.quiet(0.3)
