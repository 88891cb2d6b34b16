"""Short garbage-collector pauses for a process that holds many long-lived connections.

CPython's full collection walks every tracked object. A gateway with 1,000 connections
holds about 250,000 of them, and with 5,000 moves a second the medium-lived objects of the
I/O path (futures, handles, tasks) trigger a full collection every few seconds: each one
stopped the event loop for 150 ms on the benchmark machine, longer than the whole latency
budget of a move.

So after every full collection the survivors are frozen (`gc.freeze`): the next full
collections walk only what was born since, and take milliseconds. Objects are still
freed by reference counting when frozen; only garbage *cycles* among frozen objects wait.
To collect those too (a closed connection leaves some), the heap is thawed every
`thaw_every_s` (default 5 minutes): that one full collection walks everything again.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

THAW_EVERY_S: Final = 300.0


class FrozenHeap:
    """Freezes the survivors of each full collection, and thaws them now and then."""

    def __init__(
        self, thaw_every_s: float = THAW_EVERY_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._thaw_every_s = thaw_every_s
        self._clock = clock
        self._thawed_at = clock()
        self.thaws = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        """The `gc.callbacks` hook: it runs around every collection, in any thread."""
        if info["generation"] != 2:
            return
        if phase == "start":
            if self._clock() - self._thawed_at >= self._thaw_every_s:
                # Merged back into the oldest generation: this collection walks them all.
                gc.unfreeze()
                self._thawed_at = self._clock()
                self.thaws += 1
        else:
            gc.freeze()


@contextmanager
def frozen_heap(thaw_every_s: float = THAW_EVERY_S) -> Iterator[FrozenHeap]:
    """Apply the policy to this process while the context lasts (a serving role)."""
    policy = FrozenHeap(thaw_every_s)
    # What was built before serving (modules, settings, the database layer) stays.
    gc.collect()
    gc.freeze()
    gc.callbacks.append(policy)
    try:
        yield policy
    finally:
        gc.callbacks.remove(policy)
        gc.unfreeze()
