"""Tunable rules of a space: proximity radii, the call cap, the interest margin."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

PROXIMITY_RADIUS_TILES: Final = 2.0
PROXIMITY_LEAVE_RADIUS_TILES: Final = 3.0
MAX_CALL_SIZE: Final = 6
INTEREST_MARGIN_TILES: Final = 4


@dataclass(frozen=True, slots=True)
class SpaceConfig:
    """The rules one space runs with; static for the space's lifetime.

    `spawn_seed` makes spawning reproducible: the n-th join of a space draws
    from a generator seeded with (seed, n), so a space rebuilt from a snapshot
    spawns exactly where the original would have.
    """

    proximity_radius_tiles: float = PROXIMITY_RADIUS_TILES
    proximity_leave_radius_tiles: float = PROXIMITY_LEAVE_RADIUS_TILES
    max_call_size: int = MAX_CALL_SIZE
    interest_margin_tiles: int = INTEREST_MARGIN_TILES
    spawn_seed: str = ""

    def __post_init__(self) -> None:
        if not 0 < self.proximity_radius_tiles <= self.proximity_leave_radius_tiles:
            raise ValueError("need 0 < proximity radius <= leave radius")
        if self.max_call_size < 2:
            raise ValueError("a call needs room for at least two")
        if self.interest_margin_tiles < 0:
            raise ValueError("the interest margin can't be negative")

    @property
    def hash_cell_tiles(self) -> int:
        """Side of a spatial-hash cell: the leave radius, so a neighbourhood is 3x3 cells."""
        return max(1, math.ceil(self.proximity_leave_radius_tiles))


#: Side of the buckets viewports are indexed by: finding who watches a cell reads one bucket.
INTEREST_BUCKET_TILES: Final = 8
