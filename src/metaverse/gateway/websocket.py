"""websockets' server connection, handing each complete message on as soon as it is parsed.

websockets puts every incoming message in a queue for a reader task to take out: a future,
a task wake-up and a coroutine resumption per message. Moves, most of what a gateway reads,
need no awaiting at all, and at a thousand clients that queueing cost a fifth of the loop.
`GatewaySocket` uses the library's own extension point (`serve(create_connection=...)`,
`process_event`) to call `on_message` straight from `data_received` instead; the gateway
queues what it has to await itself (`Inbox` in `gateway.server`).

Everything else stays with websockets: the handshake, parsing and unmasking, the message
size limit (which it checks across fragments too), pings, and the closing handshake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from websockets.asyncio.server import ServerConnection
from websockets.frames import DATA_OPCODES, CloseCode, Frame, Opcode
from websockets.protocol import Event

# Messages that may arrive between the handshake and the gateway attaching (a loop
# iteration or two); a client that sends more than this before then is flooding.
MAX_EARLY: Final = 64
# A message split into more frames than this is refused (websockets' own reader refuses
# too many fragments as well): empty fragments would otherwise cost nothing to send.
MAX_FRAGMENTS: Final = 1024

MessageHandler = Callable[[str | bytes], None]


class GatewaySocket(ServerConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_message: MessageHandler = self._early_message
        self._on_lost: Callable[[], None] | None = None
        self._early: list[str | bytes] = []
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
