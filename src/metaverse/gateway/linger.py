"""Gathering what one gateway sends another into fewer pub/sub messages.

Each message between gateways costs both processes a fixed price whatever it carries (a
publish on one side, a read on the other, a JSON document each, the wake-ups), and a busy
space produces a few frames and commands per loop turn. `Linger` holds them back
like Nagle's algorithm: after a quiet spell the first one leaves at the next loop turn;
while traffic keeps coming, at most one flush per `linger_s`, so a crossing waits
`linger_s` at most and, under load, each message carries everything of that time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Linger:
    """Calls `flush` for what was queued since it last ran: at the next loop turn when
    it last ran more than `linger_s` ago, else `linger_s` after that."""

    __slots__ = ("_flush", "_handle", "_last_s", "linger_s")

    def __init__(self, flush: Callable[[], None], linger_s: float) -> None:
        self._flush = flush
        self.linger_s = linger_s
        self._handle: asyncio.Handle | None = None
        self._last_s = float("-inf")

    @property
    def pending(self) -> bool:
        return self._handle is not None

    def schedule(self) -> None:
        """Something was queued: make sure a flush comes."""
        if self._handle is not None:
            return
        loop = asyncio.get_running_loop()
        due_s = self._last_s + self.linger_s
        if due_s <= loop.time():
            self._handle = loop.call_soon(self._run)
        else:
            self._handle = loop.call_at(due_s, self._run)

    def now(self) -> None:
        """Flush at once what is queued (something must not overtake it)."""
        if self._handle is not None:
            self._handle.cancel()
            self._run()

    def _run(self) -> None:
        self._handle = None
        self._last_s = asyncio.get_running_loop().time()
        self._flush()
