"""websockets' server connection, handing each complete message on as soon as it is parsed.

websockets puts every incoming message in a queue for a reader task to take out: a future,
a task wake-up and a coroutine resumption per message. Moves, most of what a gateway reads,
need no awaiting at all, and at a thousand clients that queueing cost a fifth of the loop.
`GatewaySocket` uses the library's own extension point (`serve(create_connection=...)`,
`process_event`) to call `on_message` straight from `data_received` instead; the gateway
queues what it has to await itself (`Inbox` in `gateway.server`).

Most of what a client sends is a small text frame, alone in its read from the socket. Those
are unmasked and handed on right in `data_received` (`_take_text_frames`) when websockets'
parser stands between frames, with nothing buffered, no fragmented message under way and the
connection open: going through its parser generators, frame objects and events cost a
quarter of reading a move. Whatever is not such a frame (a ping, a close, a fragment, a
frame cut off by the end of the read, anything odd) and everything after it in that read go
to websockets as before.

Everything else stays with websockets: the handshake, parsing and unmasking, the message
size limit (which it checks across fragments too), pings, and the closing handshake.

websockets would parse the frames a client sends right behind its upgrade request (in the
same write) at once, before the handshake's response has gone out; a frame that broke a
rule then (too big, too many, not UTF-8) could only fail the connection by cutting the
socket, with neither the response nor a close frame. So the bytes after the request wait,
with reading paused, until the gateway attaches (`_before_open`), and are read as if they
had just come.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from websockets.asyncio.server import ServerConnection
from websockets.frames import DATA_OPCODES, CloseCode, Frame, Opcode
from websockets.protocol import Event, Protocol, State
from websockets.streams import StreamReader

try:  # what websockets unmasks with: its C speed-up, when it was built
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover
    from websockets.utils import apply_mask

# Messages that may arrive between the handshake and the gateway attaching (a loop
# iteration or two); a client that sends more than this before then is flooding.
MAX_EARLY: Final = 64
# A message split into more frames than this is refused (websockets' own reader refuses
# too many fragments as well): empty fragments would otherwise cost nothing to send.
MAX_FRAGMENTS: Final = 1024

MessageHandler = Callable[[str | bytes], None]

# websockets' parser waits here, in `StreamReader.at_eof`, between two frames.
_BETWEEN_FRAMES: Final = StreamReader.at_eof.__code__
# The first byte of an unfragmented text frame without extension bits (FIN, opcode 1).
_FIN_TEXT: Final = 0x81


def _between_frames(parser: Any) -> bool:
    """Whether websockets' parser (generators delegating to generators: the handshake's,
    the frames', the stream reader's) is waiting for the first byte of a frame."""
    waiting = parser
    while (inner := getattr(waiting, "gi_yieldfrom", None)) is not None:
        waiting = inner
    return getattr(waiting, "gi_code", None) is _BETWEEN_FRAMES


def at_frame_start(protocol: Protocol) -> bool:
    """Whether a whole frame at the start of the next read may be handled without
    websockets: the connection is open, its parser waits for the first byte of a frame
    with nothing buffered, and no fragmented message is under way."""
    return (
        protocol.state is State.OPEN
        and protocol.current_size is None
        and not protocol.reader.buffer
        and _between_frames(protocol.parser)
    )


class GatewaySocket(ServerConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_message: MessageHandler = self._early_message
        self._on_lost: Callable[[], None] | None = None
        self._early: list[str | bytes] = []
        # Before the handshake's response: the request's last three bytes read so far
        # (its end may span two reads), then the bytes read after it, for `attach`.
        self._request_tail = b""
        self._after_request: bytes | None = None
        self._lost = False
        self._fragments: list[bytes] = []
        self._text = False

    def attach(self, on_message: MessageHandler, on_lost: Callable[[], None]) -> None:
        """Hand every message to `on_message` from now on (and those that came already),
        and call `on_lost` once the connection is gone (at once if it is)."""
        self._on_message, self._on_lost = on_message, on_lost
        early, self._early = self._early, []
        for data in early:
            on_message(data)
        after_request, self._after_request = self._after_request, None
        if after_request is not None:
            self.transport.resume_reading()
            if after_request and not self._lost:
                self.data_received(after_request)
        if self._lost:
            on_lost()

    def detach(self) -> None:
        self._on_message, self._on_lost = self._drop, None

    def _early_message(self, data: str | bytes) -> None:
        """A message after the handshake, before the gateway attached: kept for it."""
        self._early.append(data)
        if len(self._early) > MAX_EARLY:
            self._early = []
            self._fail(CloseCode.POLICY_VIOLATION, "too many frames")

    def _drop(self, data: str | bytes) -> None:
        """A message after the gateway is done with the connection."""

    def data_received(self, data: bytes) -> None:
        if self.protocol.state is State.CONNECTING:
            data = self._before_open(data)
            if not data:
                return
        taken = self._take_text_frames(data)
        if taken < len(data):
            super().data_received(data[taken:] if taken else data)

    def _before_open(self, data: bytes) -> bytes:
        """Of `data`, read before the handshake's response, what websockets may parse: up
        to the end of the upgrade request (its first blank line: it has no body). What
        follows waits for `attach`, and reading pauses until then."""
        if self._after_request is None:
            tail = self._request_tail
            end = (tail + data).find(b"\r\n\r\n")
            if end < 0:
                self._request_tail = (tail + data)[-3:]
                return data
            end += 4 - len(tail)
            self._after_request, data = data[end:], data[:end]
        else:
            self._after_request, data = self._after_request + data, b""
        if self._after_request:
            self.transport.pause_reading()
        return data

    def _take_text_frames(self, data: bytes) -> int:
        """Hand on the whole, masked, unfragmented text frames at the start of `data`
        when websockets' parser would read them as they are; how many bytes they took."""
        protocol = self.protocol
        if not at_frame_start(protocol):
            return 0
        max_size = protocol.max_message_size
        end = len(data)
        at = 0
        while end - at >= 6 and data[at] == _FIN_TEXT:
            length = data[at + 1] ^ 0x80  # the mask bit must be set: a client's frame
            if length < 126:
                mask = at + 2
            elif length == 126 and end - at >= 8:
                length = int.from_bytes(data[at + 2 : at + 4])
                mask = at + 4
            else:  # unmasked, a 64-bit length, or a header cut off
                break
            payload = mask + 4
            if payload + length > end or (max_size is not None and length > max_size):
                break
            message = apply_mask(data[payload : payload + length], data[mask:payload])
            at = payload + length
            self._text = True
            self._deliver(self._on_message, message)
            if protocol.state is not State.OPEN:  # failed or closed by what it handled
                break
        return at

    def process_event(self, event: Event) -> None:
        if not isinstance(event, Frame) or event.opcode not in DATA_OPCODES:
            super().process_event(event)  # the handshake, pings, pongs, close
            return
        on_message = self._on_message
        if event.opcode is not Opcode.CONT:  # websockets checks the sequence is valid
            self._text = event.opcode is Opcode.TEXT
            if event.fin:
                self._deliver(on_message, event.data)
            else:
                self._fragments = [bytes(event.data)]
            return
        fragments = self._fragments
        fragments.append(bytes(event.data))
        if len(fragments) > MAX_FRAGMENTS:
            self._fragments = []
            self._fail(CloseCode.MESSAGE_TOO_BIG, "too many fragments")
        elif event.fin:
            self._fragments = []
            self._deliver(on_message, b"".join(fragments))

    def _deliver(self, on_message: MessageHandler, data: Any) -> None:
        if not isinstance(data, bytes):
            data = bytes(data)
        if not self._text:
            on_message(data)
            return
        try:
            text = data.decode()
        except UnicodeDecodeError as exc:
            self._fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
            return
        on_message(text)

    def _fail(self, code: CloseCode, reason: str) -> None:
        """Fail the connection as websockets' reader would (RFC 6455, 7.1.7)."""
        self.protocol.fail(code, reason)
        try:
            self.send_data()
        except Exception as exc:  # the socket is gone already; connection_lost follows
            self.set_connection_exc(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._lost = True
        if self._on_lost is not None:
            self._on_lost()
