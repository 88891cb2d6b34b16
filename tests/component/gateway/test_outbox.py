"""Outboxes: what a client can't take yet waits, in order, and goes out once it reads."""

from __future__ import annotations

import asyncio
import json
import socket

from websockets.asyncio.client import connect

from tests.component.gateway.conftest import World

SPAWN = [("spawn", 5, 5, 1, 1, "spawn")]
BLOBS = 300
BLOB_BYTES = 60_000  # 300 of them: about 18 MB, more than the socket buffers below hold
# The slow client's receive buffer, fixed: left to autotuning, it may grow to
# net.ipv4.tcp_rmem's maximum (32 MiB on some machines), which holds all 18 MB.
SLOW_RCVBUF_BYTES = 64 * 1024


async def test_a_backed_up_client_gets_everything_in_order_once_it_reads(
    world: World,
) -> None:
    space = await world.space(10, 10, areas=SPAWN)
    _, fast_token = await world.user()
    slow_id, slow_token = await world.user()
    fast, _ = await world.join(space, fast_token, capabilities=["proximity"])
    # The slow client stops reading after one message: the kernel buffers fill, then the
    # transport's, and frames wait in its outbox on the server.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOW_RCVBUF_BYTES)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", world.port))
    async with connect(world.url, max_queue=1, max_size=2**20, sock=sock) as slow:
        join = {"spaceId": space, "token": slow_token, "capabilities": ["proximity", "batch"]}
        await slow.send(json.dumps({"type": "join", "payload": join}))
        await fast.expect("user-joined")
        await fast.expect("call-joined")
        for n in range(BLOBS):
            world.clock.advance(0.1)
            await fast.send(
                "video-call-signaling", {"to": slow_id, "data": {"n": n, "pad": "x" * BLOB_BYTES}}
            )
        await fast.quiet(0.3)  # nothing refused: both are in the call
        waiting = world.gateway.hosts[space].connections[slow_id].outbox  # type: ignore[index,union-attr]
        assert waiting, "the socket should be backed up, with frames waiting on the server"
        seen: list[int] = []
        while len(seen) < BLOBS:
            frame = json.loads(await slow.recv())
            messages = frame["payload"]["messages"] if frame["type"] == "batch" else [frame]
            seen += [
                m["payload"]["data"]["n"] for m in messages if m["type"] == "video-call-signaling"
            ]
        assert seen == list(range(BLOBS))
        # Caught up: frames go straight out again.
        world.clock.advance(1)
        await fast.send("move", {"x": 6, "y": 5})
        frame = json.loads(await slow.recv())
        messages = frame["payload"]["messages"] if frame["type"] == "batch" else [frame]
        assert [m["type"] for m in messages] == ["movement"]
