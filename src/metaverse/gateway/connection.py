"""One client connection: a bounded outbox, written by the gateway's flusher or its own writer.

The space host never awaits a socket: it puts encoded frames into outboxes. The `Flusher`
writes them straight to the socket, at the end of the current loop iteration for plain
clients and once per batch tick for `batch` clients: one timer for every connection, not a
timer and two task wake-ups per connection and tick. Only when a socket stops taking data
(the transport's write buffer is over its limit) or the connection closes does the
connection's writer task take over its outbox, waiting for the socket to drain. A client
that can't keep up fills its outbox and is closed (1013) rather than buffered without bound.
"""

from __future__ import annotations

import asyncio
import struct
from collections import deque
from collections.abc import Callable
from typing import Final

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from metaverse.core.ids import SpaceId, UserId
from metaverse.gateway.wire import BATCH, batch_frame

# Close codes (documented in docs/protocol.md).
CLOSE_NORMAL: Final = 1000
CLOSE_POLICY: Final = 1008  # flooding
CLOSE_TOO_BIG: Final = 1009
CLOSE_INTERNAL: Final = 1011  # a bug handling a frame
CLOSE_SLOW: Final = 1013  # outbox overflow
CLOSE_INVALID_TOKEN: Final = 4001
CLOSE_FORBIDDEN: Final = 4003
CLOSE_UNKNOWN_SPACE: Final = 4004
CLOSE_REPLACED: Final = 4009

MAX_BATCH_FRAMES: Final = 256
TICK_SLICES: Final = 10
FLUSH_CHUNK: Final = 50
# A batch stops growing past this many characters (a bigger frame goes alone), so that
# coalescing never makes a message too big for a client that accepts each frame alone.
MAX_BATCH_CHARS: Final = 256 * 1024
# How long a closing handshake may take before the socket is cut.
CLOSE_TIMEOUT_S: Final = 2.0


def text_frame(payload: bytes) -> bytes:
    """`payload` as one unfragmented, unmasked WebSocket text frame (RFC 6455, 5.2), the way
    websockets' `send_text` frames it, for an open connection without extensions.

    The flusher's hot path: twenty thousand writes a second at a thousand `batch` clients,
    where going through websockets' frame objects cost six times as much. Everything else
    (control frames, closing, a backed-up socket) still goes through websockets."""
    length = len(payload)
    if length < 126:
        return bytes((0x81, length)) + payload
    if length < 65536:
        return _SHORT_HEADER.pack(0x81, 126, length) + payload
    return _LONG_HEADER.pack(0x81, 127, length) + payload


_SHORT_HEADER: Final = struct.Struct("!BBH")
_LONG_HEADER: Final = struct.Struct("!BBQ")


class Flusher:
    """Writes the outboxes of connections that have frames waiting.

    Plain connections are flushed once the current loop iteration is done (every frame
    queued meanwhile goes out in one socket write), `batch` connections one tick after
    their first frame came. One timer serves all of them, waking about TICK_SLICES times
    a tick, and writing at most FLUSH_CHUNK outboxes before reading gets its turn again:
    flushing every connection at one instant stalled reading for as long as writing to
    a thousand sockets takes.
    """

    def __init__(self, batch_tick_s: float) -> None:
        self.batch_tick_s = batch_tick_s
        self._now: list[Connection] = []
        # (when it is due, connection), in the order they were queued: so by due time.
        self._tick: deque[tuple[float, Connection]] = deque()
        self._now_handle: asyncio.Handle | None = None
        self._tick_handle: asyncio.TimerHandle | None = None

    def queue(self, connection: Connection) -> None:
        """`connection` has frames waiting (called once until it is flushed)."""
        loop = asyncio.get_running_loop()
        if BATCH in connection.capabilities:
            due = loop.time() + self.batch_tick_s
            self._tick.append((due, connection))
            if self._tick_handle is None:
                self._tick_handle = loop.call_at(due, self._flush_tick)
        else:
            self._now.append(connection)
            if self._now_handle is None:
                self._now_handle = loop.call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._now_handle = None
        pending, self._now = self._now, []
        for connection in pending:
            connection.flush()

    def _flush_tick(self) -> None:
        loop = asyncio.get_running_loop()
        # What falls due within the next slice goes now: a frame may leave a little
        # before its tick is over, and the timer wakes at most TICK_SLICES times a tick.
        now = loop.time()
        until = now + self.batch_tick_s / TICK_SLICES
        pending = self._tick
        # At most FLUSH_CHUNK at a time: connections queued together stay due together,
        # and reading must get its turn between chunks.
        for _ in range(FLUSH_CHUNK):
            if not pending or pending[0][0] > until:
                break
            pending.popleft()[1].flush()
        if pending:
            self._tick_handle = loop.call_at(max(now, pending[0][0]), self._flush_tick)
        else:
            self._tick_handle = None


class Connection:
    def __init__(
        self,
        websocket: ServerConnection,
        *,
        outbox_frames: int,
        flusher: Flusher,
        on_overflow: Callable[[], None] = lambda: None,
    ) -> None:
        self.websocket = websocket
        # Frames not yet written to the socket. A deque rather than asyncio.Queue: this is
        # the hottest path of the gateway, and the bound is enforced here anyway.
        self.outbox: deque[str] = deque()
        self._outbox_frames = outbox_frames
        self._flusher = flusher
        self.user_id: UserId | None = None
        self.space_id: SpaceId | None = None
        self.capabilities: frozenset[str] = frozenset()
        # Only clients that sent `capabilities` see the accepted list echoed back:
        # old clients get `space-joined` exactly as they know it.
        self.announce_capabilities = False
        self.closing = False
        self._queued = False  # waiting in the flusher
        # The writer task owns the outbox: the socket is backed up, or it is closing.
        self._handed_over = False
        self._wake = asyncio.Event()
        self._close_with: tuple[int, str] | None = None
        self._on_overflow = on_overflow
        self._closer: asyncio.Task[None] | None = None

    @property
    def joined(self) -> bool:
        return self.user_id is not None

    @property
    def batching(self) -> bool:
        return BATCH in self.capabilities

    def send(self, frame: str) -> bool:
        """Queue a frame; False when it was not queued (the connection is closing)."""
        if self.closing:
            return False
        outbox = self.outbox
        if len(outbox) >= self._outbox_frames:
            self._on_overflow()
            self.close(CLOSE_SLOW, "too slow: outbox full")
            return False
        outbox.append(frame)
        if not self._queued:
            self._queued = True
            self._flusher.queue(self)
        return True

    def close(self, code: int, reason: str) -> None:
        """Close after what is already queued, or at once when the outbox overflowed."""
        if self.closing:
            return
        self.closing = True
        if code != CLOSE_SLOW:
            self._close_with = (code, reason)
            self._hand_over()
            return
        # The writer is likely stuck sending to this very client: drop what waits and
        # close from here, cutting the socket if even the close frame can't go out.
        # The reader then ends and the user leaves.
        self.outbox.clear()
        self._hand_over()
        self._closer = asyncio.get_running_loop().create_task(self._close_stuck(code, reason))

    async def _close_stuck(self, code: int, reason: str) -> None:
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.websocket.close(code, reason)
        except TimeoutError:
            # The close frame cannot even be written: cut the connection.
            self.websocket.transport.abort()

    def finish(self) -> None:
        """The reader is done: let the writer write what waits and stop."""
        if not self.closing:
            self.closing = True
            self._hand_over()

    def flush(self) -> None:
        """Write what waits straight to the socket, or leave it to the writer task."""
        self._queued = False
        if self._handed_over or not self.outbox:
            return
        websocket = self.websocket
        if (
            websocket.paused
            or websocket.protocol.state is not State.OPEN
            or websocket.transport.is_closing()
        ):
            # Backed up or closing: the writer waits for the socket to drain, in order.
            self._hand_over()
            return
        outbox = self.outbox
        if self.batching:
            if len(outbox) == 1:
                data = text_frame(outbox.popleft().encode())
            else:
                chunks = []
                while outbox:
                    chunks.append(text_frame(self._next_batch().encode()))
                data = b"".join(chunks)
        else:
            data = b"".join([text_frame(frame.encode()) for frame in outbox])
            outbox.clear()
        websocket.transport.write(data)  # one write for all of them

    def _next_batch(self) -> str:
        """The next frame to send to a `batch` client: up to MAX_BATCH_FRAMES in one."""
        outbox = self.outbox
        if len(outbox) <= MAX_BATCH_FRAMES and sum(map(len, outbox)) <= MAX_BATCH_CHARS:
            # The usual case, a tick's worth of small frames: all of them, at C speed.
            frames = list(outbox)
            outbox.clear()
            return frames[0] if len(frames) == 1 else batch_frame(frames)
        frames = [outbox.popleft()]
        chars = len(frames[0])
        while outbox and len(frames) < MAX_BATCH_FRAMES:
            chars += len(outbox[0])
            if chars > MAX_BATCH_CHARS:
                break
            frames.append(outbox.popleft())
        return frames[0] if len(frames) == 1 else batch_frame(frames)

    def _hand_over(self) -> None:
        self._handed_over = True
        self._wake.set()

    async def writer(self) -> None:
        """Write the outbox whenever the flusher can't: the socket is slow, or closing."""
        websocket = self.websocket
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                # Waiting for the socket to drain is what the writer is for: frames that
                # come meanwhile gather, and go out together when it has.
                while self.outbox:
                    if self.batching:
                        await websocket.send(self._next_batch())
                    else:
                        await websocket.send(self.outbox.popleft())
                if self._close_with is not None:
                    await websocket.close(*self._close_with)
                    return
                if self.closing:
                    return
                self._handed_over = False
        except ConnectionClosed:
            return
