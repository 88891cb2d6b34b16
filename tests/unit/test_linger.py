"""`Linger`: the first message after a quiet spell leaves at once, the next ones wait."""

from __future__ import annotations

import asyncio

from metaverse.gateway.linger import Linger


class Queue:
    def __init__(self, linger_s: float) -> None:
        self.queued: list[str] = []
        self.flushed: list[list[str]] = []
        self.linger = Linger(self.flush, linger_s)

    def add(self, item: str) -> None:
        self.queued.append(item)
        self.linger.schedule()

    def flush(self) -> None:
        self.flushed.append(self.queued)
        self.queued = []


async def turns(count: int = 3) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_after_a_quiet_spell_what_is_queued_leaves_at_the_next_loop_turn() -> None:
    queue = Queue(linger_s=60.0)
    queue.add("a")
    queue.add("b")
    assert queue.flushed == []  # not inside the turn that queued it
    await turns()
    assert queue.flushed == [["a", "b"]]


async def test_while_traffic_keeps_coming_it_waits_for_the_linger() -> None:
    queue = Queue(linger_s=60.0)
    queue.add("a")
    await turns()
    queue.add("b")
    queue.add("c")
    await turns(10)
    assert queue.flushed == [["a"]]
    assert queue.linger.pending


async def test_it_flushes_once_the_linger_has_passed() -> None:
    queue = Queue(linger_s=0.01)
    queue.add("a")
    await turns()
    queue.add("b")
    await asyncio.sleep(0.05)
    assert queue.flushed == [["a"], ["b"]]
    assert not queue.linger.pending


async def test_now_sends_what_waits_at_once_and_only_once() -> None:
    queue = Queue(linger_s=60.0)
    queue.add("a")
    await turns()
    queue.add("b")
    queue.linger.now()
    assert queue.flushed == [["a"], ["b"]]
    queue.linger.now()  # nothing waits: nothing is flushed
    await turns()
    assert queue.flushed == [["a"], ["b"]]


async def test_without_a_linger_each_loop_turn_flushes() -> None:
    queue = Queue(linger_s=0.0)
    for item in "abc":
        queue.add(item)
        await turns()
    assert queue.flushed == [["a"], ["b"], ["c"]]
