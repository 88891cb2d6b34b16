"""Proximity calls over the wire: forming, ending, hysteresis, areas, dnd, the cap,
merges, and signaling only within a call."""

from __future__ import annotations

from typing import Any

from tests.component.gateway.conftest import Client, World

SPAWN = [("spawn", 5, 5, 1, 1, "spawn")]
PROXIMITY = ["proximity"]


async def walk(world: World, client: Client, path: list[tuple[int, int]]) -> None:
    for x, y in path:
        world.clock.advance(1)  # stay under the move rate
        await client.send("move", {"x": x, "y": y})


def initiators(a: dict[str, Any], b: dict[str, Any], a_id: str, b_id: str) -> tuple[bool, bool]:
    a_side = next(p["initiator"] for p in a["peers"] if p["userId"] == b_id)
    b_side = next(p["initiator"] for p in b["peers"] if p["userId"] == a_id)
    return a_side, b_side


async def test_a_call_starts_when_near_and_ends_when_apart(world: World) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    a_id, a_token = await world.user()
    b_id, b_token = await world.user()
    a, _ = await world.join(space, a_token, capabilities=PROXIMITY)
    b, _ = await world.join(space, b_token, capabilities=PROXIMITY)
    await a.expect("user-joined")
    a_call = await a.expect("call-joined")
    b_call = await b.expect("call-joined")
    assert a_call["callId"] == b_call["callId"]
    assert [p["userId"] for p in a_call["peers"]] == [b_id]
    assert [p["userId"] for p in b_call["peers"]] == [a_id]
    assert sorted(initiators(a_call, b_call, a_id, b_id)) == [False, True]

    # 1, 2, 3 tiles apart: still in the call (hysteresis up to the leave radius).
    await walk(world, b, [(6, 5), (7, 5), (8, 5)])
    for _ in range(3):
        await a.expect("movement")
    await a.quiet()
    await b.quiet()
    await walk(world, b, [(9, 5)])
    await a.expect("movement")
    assert await a.expect("call-left") == {"callId": a_call["callId"]}
    assert await b.expect("call-left") == {"callId": a_call["callId"]}

    # 3 tiles is not near enough to start again; 2 is.
    await walk(world, b, [(8, 5)])
    await a.expect("movement")
    await b.quiet()
    await walk(world, b, [(7, 5)])
    await a.expect("movement")
    again = await a.expect("call-joined")
    assert again["callId"] != a_call["callId"]
    await b.expect("call-joined")


async def test_signaling_only_within_the_same_call(world: World) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    a_id, a_token = await world.user()
    b_id, b_token = await world.user()
    c_id, c_token = await world.user()
    a, _ = await world.join(space, a_token, capabilities=PROXIMITY)
    b, _ = await world.join(space, b_token, capabilities=PROXIMITY)
    await a.expect("user-joined")
    await a.expect("call-joined")
    await b.expect("call-joined")

    offer = {"type": "offer", "sdp": "v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\n"}
    await a.send("video-call-signaling", {"to": b_id, "data": offer})
    assert await b.expect("video-call-signaling") == {"from": a_id, "data": offer}
    candidate = {
        "candidate": "candidate:1 1 udp 2122260223 10.0.0.1 54321 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": "abcd",
    }
    await b.send("video-call-signaling", {"to": a_id, "data": candidate})
    assert await a.expect("video-call-signaling") == {"from": b_id, "data": candidate}

    # C is present but in no call with them (no proximity capability): refused both ways.
    c, _ = await world.join(space, c_token)
    await a.expect("user-joined")
    await b.expect("user-joined")
    await c.send("video-call-signaling", {"to": a_id, "data": offer})
    assert await c.expect("signal-rejected") == {"to": a_id, "reason": "not_in_same_call"}
    await a.send("video-call-signaling", {"to": c_id, "data": offer})
    assert (await a.expect("signal-rejected"))["to"] == c_id
    await a.send("video-call-signaling", {"to": "nobody", "data": offer})
    assert (await a.expect("signal-rejected"))["to"] == "nobody"
    await c.quiet()


async def test_private_and_silent_areas(world: World) -> None:
    areas = [
        ("spawn", 5, 5, 1, 1, "spawn"),
        ("meeting", 0, 0, 10, 3, "private"),
        ("library", 0, 10, 10, 3, "silent"),
    ]
    space = await world.space(20, 20, areas=areas)
    _a_id, a_token = await world.user()
    _b_id, b_token = await world.user()
    a, _ = await world.join(space, a_token, capabilities=PROXIMITY)
    b, _ = await world.join(space, b_token, capabilities=PROXIMITY)
    await a.expect("user-joined")
    call = (await a.expect("call-joined"))["callId"]
    await b.expect("call-joined")

    # A walks into the private room: they part (nobody outside a private area shares it).
    await walk(world, a, [(5, 4), (5, 3), (5, 2)])
    for _ in range(3):
        await b.expect("movement")
    assert await a.expect("call-left") == {"callId": call}
    assert await b.expect("call-left") == {"callId": call}
    # B enters too, far from A but in the same room: one call, whatever the distance.
    await walk(world, b, [(6, 5), (7, 5), (8, 5), (9, 5), (9, 4), (9, 3), (9, 2)])
    for _ in range(7):
        await a.expect("movement")
    room_call = (await a.expect("call-joined"))["callId"]
    assert (await b.expect("call-joined"))["callId"] == room_call

    # Both walk into the library: silence, no call however close.
    path = [(5, 3), (5, 4), (5, 5), (5, 6), (5, 7), (5, 8), (5, 9), (5, 10)]
    await walk(world, a, path)
    frames = [await b.recv() for _ in range(len(path) + 1)]
    assert [f["type"] for f in frames] == ["movement", "call-left"] + ["movement"] * 7
    assert await a.expect("call-left") == {"callId": room_call}
    await walk(
        world,
        b,
        [(9, 3), (9, 4), (8, 4), (7, 4), (6, 4), (6, 5), (6, 6), (6, 7), (6, 8), (6, 9), (6, 10)],
    )
    await b.quiet()
    for _ in range(11):
        await a.expect("movement")
    await a.quiet()


async def test_dnd_leaves_the_call_and_available_rejoins(world: World) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    _, a_token = await world.user()
    _, b_token = await world.user()
    a, _ = await world.join(space, a_token, capabilities=PROXIMITY)
    b, _ = await world.join(space, b_token, capabilities=PROXIMITY)
    await a.expect("user-joined")
    call = (await a.expect("call-joined"))["callId"]
    await b.expect("call-joined")
    await a.send("status", {"status": "dnd"})
    assert await a.expect("call-left") == {"callId": call}
    assert await b.expect("call-left") == {"callId": call}
    await a.send("status", {"status": "available"})
    assert (await a.expect("call-joined"))["callId"] == (await b.expect("call-joined"))["callId"]


async def test_the_call_cap(world_factory: Any) -> None:
    world: World = await world_factory(max_call_size=2)
    space = await world.space(20, 20, areas=SPAWN)
    _, a_token = await world.user()
    _, b_token = await world.user()
    c_id, c_token = await world.user()
    a, _ = await world.join(space, a_token, capabilities=PROXIMITY)
    b, _ = await world.join(space, b_token, capabilities=PROXIMITY)
    await a.expect("user-joined")
    call = (await a.expect("call-joined"))["callId"]
    await b.expect("call-joined")
    c, _ = await world.join(space, c_token, capabilities=PROXIMITY)
    assert await c.expect("call-full") == {"callId": call}
    await a.expect("user-joined")
    await b.expect("user-joined")
    await a.quiet()

    # B leaves: the call of one ends, and A and C, still near, start one together.
    await b.ws.close()
    frames = [await a.recv() for _ in range(3)]
    assert [f["type"] for f in frames] == ["call-left", "call-joined", "user-left"]
    assert frames[0]["payload"] == {"callId": call}
    assert [p["userId"] for p in frames[1]["payload"]["peers"]] == [c_id]
    assert (await c.expect("call-joined"))["callId"] == frames[1]["payload"]["callId"]


async def test_calls_merge_and_the_earlier_keeps_its_id(world: World) -> None:
    space = await world.space(30, 20, areas=SPAWN)
    users = [await world.user() for _ in range(4)]
    a, _ = await world.join(space, users[0][1], capabilities=PROXIMITY)
    b, _ = await world.join(space, users[1][1], capabilities=PROXIMITY)
    first = (await b.expect("call-joined"))["callId"]
    await a.expect("user-joined")
    assert (await a.expect("call-joined"))["callId"] == first
    # A and B walk five tiles left, side by side (each step seen before the next:
    # frames of two connections are not ordered with each other).
    for x in range(4, -1, -1):
        await walk(world, a, [(x, 5)])
        assert (await b.expect("movement"))["x"] == x
        await walk(world, b, [(x, 5)])
        assert (await a.expect("movement"))["x"] == x
    c, _ = await world.join(space, users[2][1], capabilities=PROXIMITY)
    d, _ = await world.join(space, users[3][1], capabilities=PROXIMITY)
    second = (await d.expect("call-joined"))["callId"]
    assert second != first
    # C walks toward them: at (2, 5) C is near A and B: the two calls of two merge.
    await walk(world, c, [(4, 5), (3, 5), (2, 5)])
    frames: list[dict[str, Any]] = []
    while True:
        frame = await d.recv()
        frames.append(frame)
        if frame["type"] == "call-joined":
            break
    assert frame["payload"]["callId"] == first
    assert {"type": "call-left", "payload": {"callId": second}} in frames
    assert sorted(p["userId"] for p in frame["payload"]["peers"]) == sorted(
        u[0] for u in users if u[0] != users[3][0]
    )
