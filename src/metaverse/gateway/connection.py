"""One client connection: a bounded outbox, written by the gateway's flusher or its own writer.

The space host never awaits a socket: it puts encoded frames into outboxes. The `Flusher`
writes them straight to the socket: at the end of the current loop iteration for plain
clients, and every batch tick for `batch` clients, which it writes a tenth at a time (each
in its own slot) so that reading gets its turn in between. Only when a socket stops taking
data (the transport's write buffer is over its limit) or the connection closes does the
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

from metaverse.accounts.tokens import Principal
from metaverse.core.ids import SpaceId, UserId
from metaverse.gateway.wire import BATCH, batch_frame

# Close codes (documented in docs/protocol.md).
CLOSE_NORMAL: Final = 1000
CLOSE_POLICY: Final = 1008  # flooding
CLOSE_TOO_BIG: Final = 1009
CLOSE_INTERNAL: Final = 1011  # a bug handling a frame
CLOSE_RESTART: Final = 1012  # the gateway stops (its spaces handed to another)
CLOSE_SLOW: Final = 1013  # outbox overflow
CLOSE_INVALID_TOKEN: Final = 4001
CLOSE_FORBIDDEN: Final = 4003
CLOSE_UNKNOWN_SPACE: Final = 4004
CLOSE_REPLACED: Final = 4009

MAX_BATCH_FRAMES: Final = 256
# `batch` connections are spread over this many slots, each written once a tick.
TICK_SLICES: Final = 10
# A batch stops growing past this many characters (a bigger frame goes alone), so that
# coalescing never makes a message too big for a client that accepts each frame alone.
MAX_BATCH_CHARS: Final = 256 * 1024
# How long a closing handshake may take before the socket is cut.
CLOSE_TIMEOUT_S: Final = 2.0


def text_frame(payload: bytes) -> bytes:
    """`payload` as one unfragmented, unmasked WebSocket text frame (RFC 6455, 5.2), the way
    websockets' `send_text` frames it, for an open connection without extensions.

    The flusher's hot path: twenty thousand writes a second at a thousand `batch` clients,
    where going through websockets' frame objects costs six times as much. Everything else
    (control frames, closing, a backed-up socket) still goes through websockets."""
    length = len(payload)
    if length < 126:
        return bytes((0x81, length)) + payload
    if length < 65536:
        return _SHORT_HEADER.pack(0x81, 126, length) + payload
    return _LONG_HEADER.pack(0x81, 127, length) + payload


_SHORT_HEADER: Final = struct.Struct("!BBH")
_LONG_HEADER: Final = struct.Struct("!BBQ")


Sender = Callable[[str], object]


class Flusher:
    """Writes the outboxes of connections that have frames waiting.

    Plain connections are flushed once the current loop iteration is done: every frame
    queued meanwhile goes out in one socket write. `batch` connections are enrolled in one
    of TICK_SLICES slots, and one timer writes a slot every tick / TICK_SLICES, so each
    `batch` connection is written once a tick (a frame waits at most one tick) and reading
    gets its turn between slots: flushing every connection at one instant would stall
    reading for as long as writing to a thousand sockets takes.

    Because an enrolled connection is written every tick anyway, queueing a frame for it is
    only an append to its outbox (`Connection.sender`): at a thousand clients that is two
    hundred thousand frames a second, and a method call for each would be a tenth of the
    loop.
    The timer runs while any `batch` connection is enrolled.
    """

    def __init__(self, batch_tick_s: float) -> None:
        self.batch_tick_s = batch_tick_s
        self._slice_s = batch_tick_s / TICK_SLICES
        self._now: list[Connection] = []
        self._now_handle: asyncio.Handle | None = None
        self._slots: list[list[Connection]] = [[] for _ in range(TICK_SLICES)]
        self._enrolled = 0
        self._next_slot = 0
        self._due = 0.0
        self._tick_handle: asyncio.TimerHandle | None = None

    def queue(self, connection: Connection) -> None:
        """`connection` (not enrolled) has frames waiting: called once until it is flushed."""
        self._now.append(connection)
        if self._now_handle is None:
            self._now_handle = asyncio.get_running_loop().call_soon(self._flush_now)

    def enroll(self, connection: Connection) -> None:
        """Write `connection` once a tick from now on, until it closes."""
        min(self._slots, key=len).append(connection)
        self._enrolled += 1
        if self._tick_handle is None:
            loop = asyncio.get_running_loop()
            self._due = loop.time() + self._slice_s
            self._tick_handle = loop.call_at(self._due, self._flush_slot)

    def _flush_now(self) -> None:
        self._now_handle = None
        pending, self._now = self._now, []
        for connection in pending:
            connection.flush()

    def _flush_slot(self) -> None:
        slot = self._slots[self._next_slot]
        self._next_slot = (self._next_slot + 1) % TICK_SLICES
        gone = 0
        for connection in slot:
            if connection.closing:  # its writer has the outbox now
                gone += 1
            elif connection.outbox:
                connection.flush()
        if gone:
            slot[:] = [connection for connection in slot if not connection.closing]
            self._enrolled -= gone
        if not self._enrolled:
            self._tick_handle = None
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        # On time, the slots keep their rhythm; behind by more than a tick, it starts over
        # from now rather than writing slot after slot to catch up.
        due = self._due + self._slice_s
        self._due = now if due < now - self.batch_tick_s else due
        self._tick_handle = loop.call_at(self._due, self._flush_slot)


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
        # Who joined on this connection (their access is checked again when it changes).
        self.principal: Principal | None = None
        # When a guest's token runs out, their connection closes (`Gateway._visit_over`).
        self.expiry: asyncio.TimerHandle | None = None
        # Only clients that sent `capabilities` see the accepted list echoed back:
        # old clients get `space-joined` exactly as they know it.
        self.announce_capabilities = False
        self.closing = False
        self._queued = False  # waiting in the flusher
        self._enrolled = False  # written by the flusher every tick
        # Told whenever `sender` changes (the space host keeps it for fan-out).
        self.on_sender: Callable[[Sender], None] | None = None
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

    def accept(self, capabilities: frozenset[str]) -> None:
        """The capabilities this connection joined with."""
        self.capabilities = capabilities
        if BATCH in capabilities and not self._enrolled:
            self._enrolled = True
            self._flusher.enroll(self)
            self._sender_changed()

    @property
    def sender(self) -> Sender:
        """What queues a frame for this connection, for the host's fan-out to call.

        The outbox's own `append` while the flusher writes it every tick and its socket
        takes data: the outbox can only grow by a tick's worth before it is written.
        Otherwise `send`, which keeps the outbox bounded."""
        if self._enrolled and not self._handed_over and not self.closing:
            return self.outbox.append
        return self.send

    def _sender_changed(self) -> None:
        if self.on_sender is not None:
            self.on_sender(self.sender)

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
        if not self._queued and not self._enrolled:
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
        if websocket.paused:
            # The socket took no more: until it drains, frames wait in a bounded outbox.
            self._hand_over()

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
        if not self._handed_over:
            self._handed_over = True
            self._sender_changed()
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
                self._sender_changed()
        except ConnectionClosed:
            return
