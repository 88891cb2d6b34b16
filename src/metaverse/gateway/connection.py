"""One client connection: a bounded outbox drained by its writer task, with optional batching.

The space host never awaits a socket: it puts encoded frames into outboxes. A client that
can't keep up fills its outbox and is closed (1013) rather than buffered without bound.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Final

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from metaverse.core.ids import SpaceId, UserId

# Close codes (documented in docs/protocol.md).
CLOSE_NORMAL: Final = 1000
CLOSE_POLICY: Final = 1008  # flooding
CLOSE_TOO_BIG: Final = 1009
CLOSE_SLOW: Final = 1013  # outbox overflow
CLOSE_INVALID_TOKEN: Final = 4001
CLOSE_FORBIDDEN: Final = 4003
CLOSE_UNKNOWN_SPACE: Final = 4004
CLOSE_REPLACED: Final = 4009

MAX_BATCH_FRAMES: Final = 256
# How long a closing handshake may take before the socket is cut.
CLOSE_TIMEOUT_S: Final = 2.0


class _Close:
    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class Connection:
    def __init__(
        self,
        websocket: ServerConnection,
        *,
        outbox_frames: int,
        batch_tick_s: float,
        on_overflow: Callable[[], None] = lambda: None,
    ) -> None:
        self.websocket = websocket
        # A deque and an event rather than asyncio.Queue: this is the hottest path of
        # the gateway, and the bound is enforced here anyway.
        self.outbox: deque[str | _Close | None] = deque()
        self._ready = asyncio.Event()
        self._outbox_frames = outbox_frames
        self.batch_tick_s = batch_tick_s
        self.user_id: UserId | None = None
        self.space_id: SpaceId | None = None
        self.capabilities: frozenset[str] = frozenset()
        # Only clients that sent `capabilities` see the accepted list echoed back:
        # old clients get `space-joined` exactly as they know it.
        self.announce_capabilities = False
        self.closing = False
        self.frames_out = 0
        self._on_overflow = on_overflow
        self._closer: asyncio.Task[None] | None = None

    @property
    def joined(self) -> bool:
        return self.user_id is not None

    @property
    def batching(self) -> bool:
        return "batch" in self.capabilities

    def send(self, frame: str) -> bool:
        """Queue a frame; False when it was not queued (the connection is closing)."""
        if self.closing:
            return False
        if len(self.outbox) >= self._outbox_frames:
            self._on_overflow()
            self.close(CLOSE_SLOW, "too slow: outbox full")
            return False
        self.outbox.append(frame)
        self._ready.set()
        return True

    def close(self, code: int, reason: str) -> None:
        """Close after what is already queued, or at once when the outbox overflowed."""
        if self.closing:
            return
        self.closing = True
        if code != CLOSE_SLOW:
            self._put(_Close(code, reason))
            return
        # The writer is likely stuck sending to this very client: drop what waits and
        # close from here, cutting the socket if even the close frame can't go out.
        # The reader then ends and the user leaves.
        self.outbox.clear()
        self._put(None)
        self._closer = asyncio.get_running_loop().create_task(self._close_stuck(code, reason))

    async def _close_stuck(self, code: int, reason: str) -> None:
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.websocket.close(code, reason)
        except TimeoutError:
            # The close frame cannot even be written: cut the connection.
            self.websocket.transport.abort()

    def finish(self) -> None:
        """The reader is done: let the writer stop."""
        if not self.closing:
            self.closing = True
            self._put(None)

    def _put(self, item: _Close | None) -> None:
        self.outbox.append(item)
        self._ready.set()

    async def _get(self) -> str | _Close | None:
        while not self.outbox:
            self._ready.clear()
            await self._ready.wait()
        return self.outbox.popleft()

    async def writer(self) -> None:
        try:
            while True:
                item = await self._get()
                if item is None:
                    return
                if isinstance(item, _Close):
                    await self.websocket.close(item.code, item.reason)
                    return
                if self.batching:
                    await self._send_batch(item)
                else:
                    await self.websocket.send(item)
                    self.frames_out += 1
        except ConnectionClosed:
            return

    async def _send_batch(self, first: str) -> None:
        # Let one tick's worth of frames gather, then send them as one.
        await asyncio.sleep(self.batch_tick_s)
        frames = [first]
        outbox = self.outbox
        while len(frames) < MAX_BATCH_FRAMES and outbox and isinstance(outbox[0], str):
            frames.append(outbox.popleft())  # type: ignore[arg-type]
        if len(frames) == 1:
            await self.websocket.send(first)
        else:
            await self.websocket.send(
                '{"type":"batch","payload":{"messages":[' + ",".join(frames) + "]}}"
            )
        self.frames_out += len(frames)
