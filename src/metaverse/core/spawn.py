"""Where a joining user appears.

A spawn cell is chosen from the first tier that has one:

1. a cell of a spawn area that is free and whose right neighbour (x + 1, y)
   is inside the space and free, because clients step right just after joining;
2. any free cell of a spawn area;
3. a free cell anywhere whose right neighbour is free too;
4. any free cell anywhere.

Tiers 1 and 2 exist only when the map has spawn areas. A map without a single
free cell can't host anyone: `Space` refuses it up front, so spawning always
finds a cell. Within a tier the choice is drawn from the `random.Random`
passed in (a few random probes, then a scan from a random start), so it is
reproducible from the generator's seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Final

from metaverse.core.geometry import Position, Rect
from metaverse.core.grid import CollisionGrid

#: Random cells tried before scanning a tier, which is only slow on crowded maps.
PROBES: Final = 16


class SpawnPicker:
    """Chooses spawn cells on one grid; remembers tiers found empty (the map is static)."""

    __slots__ = ("_empty", "_grid", "_tiers")

    def __init__(self, grid: CollisionGrid, spawn_rects: Sequence[Rect]) -> None:
        self._grid = grid
        clipped = tuple(
            r
            for r in (rect.clip(grid.width, grid.height) for rect in spawn_rects)
            if not r.is_empty
        )
        whole = (Rect(0, 0, grid.width, grid.height),)
        regions = [clipped, whole] if clipped else [whole]
        self._tiers = [
            (region, test) for region in regions for test in (self._has_room, self._is_free)
        ]
        self._empty: set[int] = set()

    def _is_free(self, cell: Position) -> bool:
        return self._grid.is_free(cell.x, cell.y)

    def _has_room(self, cell: Position) -> bool:
        return self._grid.is_free(cell.x, cell.y) and self._grid.is_free(cell.x + 1, cell.y)

    def pick(self, rng: random.Random) -> Position:
        """A spawn cell per the tiers above; `ValueError` if the map has no free cell."""
        for number, (region, test) in enumerate(self._tiers):
            if number in self._empty:
                continue
            cell = _pick_in(region, test, rng)
            if cell is not None:
                return cell
            self._empty.add(number)
        raise ValueError("the map has no free cell")


def _pick_in(
    region: Sequence[Rect], test: Callable[[Position], bool], rng: random.Random
) -> Position | None:
    total = sum(rect.width * rect.height for rect in region)
    for _ in range(PROBES):
        cell = _nth_cell(region, rng.randrange(total))
        if test(cell):
            return cell
    start = rng.randrange(total)
    for offset in range(total):
        cell = _nth_cell(region, (start + offset) % total)
        if test(cell):
            return cell
    return None


def _nth_cell(region: Sequence[Rect], n: int) -> Position:
    """The n-th cell of the rectangles taken one after another, row by row."""
    for rect in region[:-1]:
        size = rect.width * rect.height
        if n < size:
            return Position(rect.x + n % rect.width, rect.y + n // rect.width)
        n -= size
    last = region[-1]
    return Position(last.x + n % last.width, last.y + n // last.width)
