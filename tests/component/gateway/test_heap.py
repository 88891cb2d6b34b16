"""The frozen heap: full collections walk only new objects; a thaw collects old cycles."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from metaverse.gateway.heap import FrozenHeap, frozen_heap


class Node:
    def __init__(self) -> None:
        self.other: Any = self  # a cycle: only the collector frees it


@pytest.fixture
def policy() -> Iterator[tuple[FrozenHeap, list[float]]]:
    now = [0.0]
    heap = FrozenHeap(thaw_every_s=10, clock=lambda: now[0])
    gc.callbacks.append(heap)
    try:
        yield heap, now
    finally:
        gc.callbacks.remove(heap)
        gc.unfreeze()


def test_survivors_of_a_full_collection_are_frozen(
    policy: tuple[FrozenHeap, list[float]],
) -> None:
    kept = Node()
    gc.collect()
    assert gc.get_freeze_count() > 0
    assert all(o is not kept for o in gc.get_objects())  # no generation walks it now
    young_garbage = weakref.ref(Node())
    gc.collect()
    assert young_garbage() is None  # what was born since is still collected


def test_a_frozen_cycle_waits_for_the_thaw(policy: tuple[FrozenHeap, list[float]]) -> None:
    heap, now = policy
    node = Node()
    gc.collect()  # `node` survives and is frozen
    dead = weakref.ref(node)
    del node
    gc.collect()
    assert dead() is not None  # a frozen cycle is not walked
    now[0] = 10.0
    gc.collect()
    assert dead() is None
    assert heap.thaws == 1
    gc.collect(1)  # younger collections leave the policy alone
    assert heap.thaws == 1


def test_the_context_freezes_and_thaws_on_the_way_out() -> None:
    with frozen_heap() as heap:
        assert heap in gc.callbacks
        assert gc.get_freeze_count() > 0
    assert heap not in gc.callbacks
    assert gc.get_freeze_count() == 0
