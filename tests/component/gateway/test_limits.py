"""Limits and bad input: each answered with an error frame or the documented close code."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import urllib.request
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.frames import Frame, Opcode

from metaverse.core.ids import SpaceId
from metaverse.db.models import User
from tests.component.gateway.conftest import FRAME_TIMEOUT_S, World
from tests.component.gateway.test_chat import crowd

SPAWN = [("spawn", 5, 5, 1, 1, "spawn")]


async def test_oversized_frame_closes_with_1009(world: World) -> None:
    client = await world.connect()
    await client.ws.send(json.dumps({"type": "move", "payload": {"pad": "x" * 70_000}}))
    code, _ = await client.closed()
    assert code == 1009


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "invalid_json"),
        # Half a UTF-16 pair: no text could hold it (it would not even encode as UTF-8).
        ('{"type": "status", "payload": {"status": "busy", "text": "\\ud800"}}', "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('{"payload": {}}', "invalid_frame"),
        ('{"type": "teleport", "payload": {}}', "unknown_type"),
        ('{"type": "move", "payload": {"x": "1", "y": 2}}', "invalid_message"),
        ('{"type": "move", "payload": {"x": 1.5, "y": 2}}', "invalid_message"),
        ('{"type": "move", "payload": []}', "invalid_message"),
        ('{"type": "move", "payload": {"x": 99999999999, "y": 2}}', "invalid_message"),
        ('{"type": "status", "payload": {"status": "busy", "text": 5}}', "invalid_message"),
        ('{"type": "video-call-signaling", "payload": {"data": {}}}', "invalid_message"),
    ],
)
async def test_bad_frames_get_an_error_and_change_nothing(
    world: World, frame: str, code: str
) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    _, token1 = await world.user()
    _, token2 = await world.user()
    client, _ = await world.join(space, token1)
    other, _ = await world.join(space, token2)
    await client.expect("user-joined")
    await client.ws.send(frame)
    error = await client.expect("error")
    assert error["code"] == code and error["message"]
    await other.quiet()
    # Still open, still where it was.
    await client.send("move", {"x": 6, "y": 5})
    assert (await other.expect("movement"))["x"] == 6


async def test_binary_frames_are_refused(world: World) -> None:
    client = await world.connect()
    await client.ws.send(b"\x00\x01")
    assert (await client.expect("error"))["code"] == "invalid_frame"


async def test_a_fragmented_message_counts_as_one(world: World) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    _, token = await world.user()
    client = await world.connect()
    join = json.dumps({"type": "join", "payload": {"spaceId": space, "token": token}})
    await client.ws.send([join[:10], join[10:20], join[20:]])
    assert (await client.expect("space-joined"))["spawn"] == {"x": 5, "y": 5}


async def test_a_fragmented_message_over_the_limit_closes_with_1009(world: World) -> None:
    client = await world.connect()
    await client.ws.send(["x" * 40_000, "x" * 40_000])
    code, _ = await client.closed()
    assert code == 1009


async def test_text_that_is_not_utf8_closes_with_1007(world: World) -> None:
    client = await world.connect()
    await client.ws.send(b'{"type": "leave", "payload": {"x": "\xff"}}', text=True)
    code, _ = await client.closed()
    assert code == 1007


def masked(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    """A client's frame, as it goes over the wire."""
    return Frame(opcode, data, fin).serialize(mask=True, extensions=[])


@pytest.mark.parametrize("cut", ["one write", "every byte", "ping and fragments between"])
async def test_frames_arrive_whole_and_in_order_however_the_reads_cut_them(
    world: World, cut: str
) -> None:
    """The gateway reads small text frames itself when it can, and leaves the rest to
    websockets: whatever the mix, every message arrives once, whole and in order."""
    space = await world.space(10, 10, areas=SPAWN)
    (sender_id, sender), (_, watcher) = await crowd(world, space, 2, ["presence"])
    # Short texts and texts over 125 bytes (the frame's length takes two more bytes).
    texts = [f"{n}-" + "é" * (n * 7 % 70) for n in range(12)]
    frames = [
        json.dumps({"type": "status", "payload": {"status": "busy", "text": text}}).encode()
        for text in texts
    ]
    wire = [masked(Opcode.TEXT, frame) for frame in frames]
    if cut == "ping and fragments between":
        fragmented = frames[5]
        wire[5] = (
            masked(Opcode.TEXT, fragmented[:9], fin=False)
            + masked(Opcode.PING, b"still there?")
            + masked(Opcode.CONT, fragmented[9:20], fin=False)
            + masked(Opcode.CONT, fragmented[20:])
        )
        wire[8] = masked(Opcode.PING, b"") + wire[8]
    data = b"".join(wire)
    transport = sender.ws.transport
    if cut == "every byte":
        for at in range(len(data)):
            transport.write(data[at : at + 1])
            await asyncio.sleep(0)
    else:
        transport.write(data)
    seen = [(await watcher.expect("status"))["text"] for _ in texts]
    assert seen == texts
    assert {"userId": sender_id, "status": "busy", "text": texts[-1]} == (await sender.drain())[-1][
        "payload"
    ]


async def test_commands_sent_together_with_a_join_wait_for_it(world: World) -> None:
    """A join awaits the database; the move sent right behind it must wait, not fail."""
    space = await world.space(10, 10, areas=SPAWN)
    _, token1 = await world.user()
    _, token2 = await world.user()
    watcher, _ = await world.join(space, token1)
    client = await world.connect()
    await asyncio.gather(
        client.send("join", {"spaceId": space, "token": token2}),
        client.send("move", {"x": 6, "y": 5}),
        client.send("status", {"status": "busy"}),
    )
    assert (await client.expect("space-joined"))["spawn"] == {"x": 5, "y": 5}
    assert (await watcher.expect("user-joined"))["x"] == 5
    assert (await watcher.expect("movement"))["x"] == 6
    for frame in await client.drain():
        assert frame["type"] != "error", frame


async def test_frames_before_join_and_a_second_join(world: World) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    _, token = await world.user()
    client = await world.connect()
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("move", {"x": 1, "y": 1}),
        ("leave", {}),
        ("status", {"status": "busy"}),
    ]
    for type_, payload in attempts:
        await client.send(type_, payload)
        assert (await client.expect("error"))["code"] == "not_joined"
    await client.send("join", {"spaceId": space, "token": token})
    await client.expect("space-joined")
    await client.send("join", {"spaceId": space, "token": token})
    assert (await client.expect("error"))["code"] == "already_joined"


@pytest.mark.parametrize(
    ("case", "error", "close_code"),
    [
        ("bad-token", "invalid_token", 4001),
        ("expired", "invalid_token", 4001),
        ("unknown-space", "unknown_space", 4004),
        ("private", "forbidden", 4003),
    ],
)
async def test_refused_joins(world: World, case: str, error: str, close_code: int) -> None:
    owner, _ = await world.user()
    space = await world.space(
        10, 10, visibility="private" if case == "private" else "public", owner=owner
    )
    _, token = await world.user()
    if case == "bad-token":
        token = token[:-4] + "AAAA"
    if case == "expired":
        world.clock.advance(16 * 60)
    if case == "unknown-space":
        space = "no-such-space"
    client = await world.connect()
    await client.send("join", {"spaceId": space, "token": token})
    assert (await client.expect("error"))["code"] == error
    code, _ = await client.closed()
    assert code == close_code


async def test_private_space_members_and_admins_may_enter(world: World) -> None:
    owner_id, owner_token = await world.user()
    space = await world.space(10, 10, visibility="private", owner=owner_id)
    await world.join(space, owner_token)
    async with world.context.sessions() as session:
        admin_id = await world.context.accounts.signup(session, "boss", "password1", "admin")
    admin_token = world.context.accounts.access_tokens.issue(admin_id, "admin")
    _, joined = await world.join(space, admin_token)
    assert joined["userId"] == admin_id


async def test_move_rate_limit(world: World) -> None:
    space = await world.space(40, 10, areas=SPAWN)
    _, token = await world.user()
    client, _ = await world.join(space, token)
    # The clock stands still: 20 moves are allowed at once, the 21st is refused.
    for x in range(6, 26):
        await client.send("move", {"x": x, "y": 5})
    await client.quiet(0.3)
    await client.send("move", {"x": 26, "y": 5})
    assert await client.expect("movement-rejected") == {"x": 25, "y": 5}
    world.clock.advance(0.1)  # 20 per second: two more
    await client.send("move", {"x": 26, "y": 5})
    await client.quiet()


async def test_flooding_closes_with_policy_violation(world_factory: Any) -> None:
    world: World = await world_factory(frame_rate_per_s=10, frame_burst=20)
    client = await world.connect()
    for _ in range(25):
        await client.send("leave")
    code, _ = await client.closed()
    assert code == 1008


def upgrade_request() -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each whole unmasked frame in `data`."""
    frames, at = [], 0
    while len(data) - at >= 2:
        length, start = data[at + 1] & 0x7F, at + 2
        if length == 126:
            length, start = int.from_bytes(data[at + 2 : at + 4]), at + 4
        elif length == 127:
            length, start = int.from_bytes(data[at + 2 : at + 10]), at + 10
        if start + length > len(data):
            break
        frames.append((data[at] & 0x0F, data[start : start + length]))
        at = start + length
    return frames


LEAVE = masked(Opcode.TEXT, b'{"type":"leave","payload":{}}')


async def handshake_with(
    world: World, frames: bytes, *, chunk: int = 0
) -> tuple[asyncio.StreamReader, Any]:
    """A raw connection that sends its upgrade request and `frames` in one write (or in
    writes of `chunk` bytes); the server's response is read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", world.port)
    data = upgrade_request() + frames
    for at in range(0, len(data), chunk or len(data)):
        writer.write(data[at : at + (chunk or len(data))])
        await writer.drain()
        await asyncio.sleep(0)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), FRAME_TIMEOUT_S)
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


@pytest.mark.parametrize(
    ("frames", "overrides", "code", "reason"),
    [
        # Beyond the frame rate's burst (200), and beyond a burst set lower.
        (LEAVE * 300, {}, 1008, "too many frames"),
        (LEAVE * 30, {"frame_rate_per_s": 10, "frame_burst": 20}, 1008, "too many frames"),
        # The rules websockets itself enforces.
        (masked(Opcode.TEXT, b"x" * 70_000), {}, 1009, ""),
        (LEAVE + masked(Opcode.TEXT, b'{"type": "\xff"}'), {}, 1007, ""),
        (LEAVE + bytes([0x83, 0x80, 0, 0, 0, 0]), {}, 1002, ""),
    ],
    ids=["flood", "flood-low-burst", "too-big", "not-utf8", "bad-opcode"],
)
async def test_frames_sent_with_the_handshake_get_a_close_frame_not_a_cut_socket(
    world_factory: Any, frames: bytes, overrides: dict[str, Any], code: int, reason: str
) -> None:
    """The upgrade request and frames breaking a rule in one write: the server answers
    the handshake, then closes with the documented code (websockets alone would parse
    those frames before answering, and could only cut the socket)."""
    world: World = await world_factory(**overrides)
    reader, writer = await handshake_with(world, frames)
    try:
        data = await asyncio.wait_for(reader.read(), FRAME_TIMEOUT_S)  # up to the server's EOF
    finally:
        writer.close()
    opcode, payload = server_frames(data)[-1]
    assert opcode == Opcode.CLOSE
    assert int.from_bytes(payload[:2]) == code
    assert reason in payload[2:].decode()


@pytest.mark.parametrize(("count", "chunk"), [(150, 0), (3, 1), (3, 7)])
async def test_frames_sent_with_the_handshake_within_the_limits_are_all_answered(
    world: World, count: int, chunk: int
) -> None:
    reader, writer = await handshake_with(world, LEAVE * count, chunk=chunk)
    data = b""
    try:
        while len(frames := server_frames(data)) < count:
            data += await asyncio.wait_for(reader.read(65536), FRAME_TIMEOUT_S)
        with pytest.raises(TimeoutError):  # nothing more: no close
            await asyncio.wait_for(reader.read(65536), 0.3)
    finally:
        writer.close()
    assert {(opcode, json.loads(payload)["payload"]["code"]) for opcode, payload in frames} == {
        (Opcode.TEXT, "not_joined")
    }


async def test_a_client_that_cannot_keep_up_is_closed_and_leaves(world_factory: Any) -> None:
    world: World = await world_factory(outbox_frames=16)
    space = await world.space(10, 10, areas=SPAWN)
    _, fast_token = await world.user()
    slow_id, slow_token = await world.user()
    fast, _ = await world.join(space, fast_token, capabilities=["proximity"])
    # The slow client stops reading: its library stops reading the socket after
    # max_queue frames, the kernel buffers fill, then its outbox on the server.
    slow = await connect(world.url, max_queue=1)
    await slow.send(
        json.dumps(
            {
                "type": "join",
                "payload": {"spaceId": space, "token": slow_token, "capabilities": ["proximity"]},
            }
        )
    )
    await fast.expect("user-joined")
    await fast.expect("call-joined")
    blob = {"sdp": "x" * 60_000}
    # About 24 MB: more than the loopback socket buffers hold between the two.
    for _ in range(400):
        world.clock.advance(0.1)
        await fast.send("video-call-signaling", {"to": slow_id, "data": blob})
    types = []
    while "user-left" not in types:
        types.append((await fast.recv(timeout_s=10))["type"])
    assert types[-1] == "user-left" and "call-left" in types
    # The server closed it (1013, or cut the socket when even that could not be sent);
    # a client that stopped reading does not notice, so the server's count is what tells.
    assert world.gateway.metrics.outbox_drops._value.get() == 1
    slow.transport.abort()


async def test_the_same_user_again_replaces_the_older_connection(world: World) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    user_id, token = await world.user()
    _, watcher_token = await world.user()
    watcher, _ = await world.join(space, watcher_token)
    old, _ = await world.join(space, token)
    await watcher.expect("user-joined")
    await old.send("move", {"x": 6, "y": 5})
    await watcher.expect("movement")
    new, joined = await world.join(space, token)
    assert joined["spawn"] == {"x": 6, "y": 5}  # back where they stood
    assert await old.expect("error") == {"code": "replaced", "message": "joined elsewhere"}
    code, _ = await old.closed()
    assert code == 4009
    assert await watcher.expect("user-left") == {"userId": user_id}
    assert (await watcher.expect("user-joined"))["userId"] == user_id
    await watcher.quiet(0.3)  # the old connection closing does not make them leave again
    await new.send("move", {"x": 7, "y": 5})
    assert (await watcher.expect("movement"))["x"] == 7


async def test_connections_that_stop_answering_pings_are_closed(world_factory: Any) -> None:
    world: World = await world_factory(ping_interval_s=0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", world.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    # Never answer: the server pings, waits, then closes the connection.
    data = await asyncio.wait_for(reader.read(), 5)
    assert data  # a ping, then a close frame (code 1011), then EOF
    writer.close()
    await writer.wait_closed()


async def test_origin_allow_list(world_factory: Any) -> None:
    world: World = await world_factory(ws_origins=["https://partner.example"])
    for origin in ("http://localhost:3000", "https://partner.example"):
        async with connect(world.url, origin=origin):  # type: ignore[arg-type]
            pass
    with pytest.raises(InvalidStatus) as refused:
        async with connect(world.url, origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    async with connect(world.url):  # no Origin: SDKs and bots
        pass


async def test_http_endpoints_on_the_gateway_port(world: World) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    _, token = await world.user()
    await world.join(space, token)

    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{world.port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, ""

    status, body = await asyncio.to_thread(get, "/healthz")
    assert status == 200 and "ok" in body
    status, body = await asyncio.to_thread(get, "/metrics")
    assert status == 200
    assert "metaverse_gateway_connections 1.0" in body
    assert f'metaverse_gateway_space_users{{space="{space}"}} 1.0' in body
    assert (await asyncio.to_thread(get, "/elsewhere"))[0] == 404


async def test_a_fault_handling_a_frame_closes_that_connection_only(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    (_, token1), (_, token2) = await world.user(), await world.user()
    broken, _ = await world.join(space, token1)
    other, _ = await world.join(space, token2)
    await broken.expect("user-joined")
    host = world.gateway.hosts[SpaceId(space)]
    move = host.move

    def faulty_move(user_id: Any, x: int, y: int) -> None:
        if x == 6:
            raise RuntimeError("a bug")
        move(user_id, x, y)

    monkeypatch.setattr(host, "move", faulty_move)
    await broken.send("move", {"x": 6, "y": 5})
    code, _ = await broken.closed()
    assert code == 1011
    assert "handling a frame failed" in caplog.text
    assert (await other.expect("user-left"))["userId"]
    # The gateway goes on for everyone else.
    await other.send("move", {"x": 5, "y": 4})
    await other.quiet()
    third_id, token3 = await world.user()
    await world.join(space, token3)
    assert (await other.expect("user-joined"))["userId"] == third_id


async def test_a_stopping_gateway_still_saves_the_status_it_accepted(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    space = await world.space()
    user_id, token = await world.user()
    client, _ = await world.join(space, token)
    saving, release = asyncio.Event(), asyncio.Event()
    save_status = world.gateway.directory.save_status

    async def slow_save(user: str, status: str, text: str) -> None:
        saving.set()
        await release.wait()
        await save_status(user, status, text)

    monkeypatch.setattr(world.gateway.directory, "save_status", slow_save)
    await client.send("status", {"status": "busy", "text": "deep work"})
    await asyncio.wait_for(saving.wait(), FRAME_TIMEOUT_S)
    stopping = asyncio.create_task(world.stop())
    await asyncio.sleep(0.3)
    assert not stopping.done(), "the gateway stopped before the status was saved"
    release.set()
    await asyncio.wait_for(stopping, 10)
    async with world.context.sessions() as session:
        user = await session.get(User, user_id)
    assert user is not None and (user.status, user.status_text) == ("busy", "deep work")
