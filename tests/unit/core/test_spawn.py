from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaverse.core.geometry import Position, Rect
from metaverse.core.grid import CollisionGrid, Element
from metaverse.core.spawn import SpawnPicker


def _pick(grid: CollisionGrid, spawns: list[Rect], seed: int = 0) -> Position:
    return SpawnPicker(grid, spawns).pick(random.Random(seed))


def _has_room(grid: CollisionGrid, cell: Position) -> bool:
    return grid.is_free(*cell) and grid.is_free(cell.x + 1, cell.y)


@settings(deadline=None)
@given(st.integers(0, 10_000))
def test_prefers_spawn_cells_with_a_free_right_neighbour(seed: int) -> None:
    # The spawn area's right column is walled off on its right: only x in {2, 3} qualify.
    grid = CollisionGrid(
        10, 10, [Element(5, 0, 1, 10, static=True), Element(2, 5, 1, 1, static=True)]
    )
    cell = _pick(grid, [Rect(2, 4, 3, 3)], seed)
    assert Rect(2, 4, 3, 3).contains(*cell) and _has_room(grid, cell)


def test_same_seed_same_cell() -> None:
    grid = CollisionGrid(30, 30)
    assert _pick(grid, [], 7) == _pick(grid, [], 7)
    assert len({_pick(grid, [], seed) for seed in range(20)}) > 1


def test_falls_back_through_the_tiers() -> None:
    # Tier 2: a one-cell-wide spawn area against the wall has no cell with room.
    walled = CollisionGrid(6, 3, [Element(4, 0, 1, 3, static=True)])
    assert _pick(walled, [Rect(3, 0, 1, 3)]).x == 3
    # Tier 3: the spawn area is all wall, the rest of the space has room.
    assert _has_room(walled, _pick(walled, [Rect(4, 0, 1, 3)]))
    # Tier 4: a one-column space has no right neighbours at all.
    assert _pick(CollisionGrid(1, 5), []).x == 0
    # Spawn areas outside the space are ignored.
    assert _has_room(walled, _pick(walled, [Rect(40, 40, 3, 3)]))


def test_scans_when_probes_miss() -> None:
    # Three free cells among 400: probes nearly always miss, the scan finds them.
    walls = [
        Element(0, 0, 20, 13, static=True),
        Element(0, 14, 20, 6, static=True),
        Element(0, 13, 17, 1, static=True),
    ]
    grid = CollisionGrid(20, 20, walls)
    picker = SpawnPicker(grid, [Rect(0, 10, 20, 5), Rect(0, 0, 2, 2)])
    for seed in range(5):
        assert picker.pick(random.Random(seed)) in {Position(17, 13), Position(18, 13)}


def test_no_free_cell_is_an_error_and_empty_tiers_are_remembered() -> None:
    grid = CollisionGrid(3, 3, [Element(0, 0, 3, 3, static=True)])
    picker = SpawnPicker(grid, [Rect(0, 0, 2, 2)])
    for _ in range(2):
        with pytest.raises(ValueError, match="no free cell"):
            picker.pick(random.Random(1))
