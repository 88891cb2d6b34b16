"""Named rectangles of a map and the rules they carry: rooms, private, silent and spawn areas.

A user is *in* an area when their cell lies inside its rectangle. Areas may
overlap; lookups answer in map order, so where two private areas overlap the
first one listed in the map is the one that counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple

from metaverse.core.geometry import Position, Rect

AreaKind = Literal["room", "private", "silent", "spawn"]
AREA_KINDS: Final[frozenset[str]] = frozenset({"room", "private", "silent", "spawn"})

#: Side of the buckets areas are indexed by, so a lookup reads a few areas, not all.
AREA_BUCKET_TILES: Final = 16


class CallRules(NamedTuple):
    """The call rules of a cell: the first private area covering it, and whether it's silent."""

    private: int | None
    silent: bool


NO_RULES: Final = CallRules(None, silent=False)


@dataclass(frozen=True, slots=True)
class Area:
    """A named rectangle of the map with a kind that gives it its rules."""

    name: str
    x: int
    y: int
    width: int
    height: int
    kind: AreaKind

    def __post_init__(self) -> None:
        if self.kind not in AREA_KINDS:
            raise ValueError(f"unknown area kind {self.kind!r}")
        if self.width < 0 or self.height < 0:
            raise ValueError(f"negative size in area {self.name!r}")

    @property
    def rect(self) -> Rect:
        return Rect(self.x, self.y, self.width, self.height)


class AreaIndex:
    """Which areas cover a cell, bucketed so a lookup costs the areas nearby."""

    __slots__ = ("_areas", "_buckets")

    def __init__(self, areas: Sequence[Area], width: int, height: int) -> None:
        self._areas = tuple(areas)
        buckets: defaultdict[tuple[int, int], list[int]] = defaultdict(list)
        for index, area in enumerate(self._areas):
            rect = area.rect.clip(width, height)
            if rect.is_empty:
                continue
            for bx in range(rect.x // AREA_BUCKET_TILES, _last_bucket(rect.x, rect.width)):
                for by in range(rect.y // AREA_BUCKET_TILES, _last_bucket(rect.y, rect.height)):
                    buckets[bx, by].append(index)
        self._buckets = {key: tuple(indices) for key, indices in buckets.items()}

    def _indices_at(self, cell: Position) -> list[int]:
        candidates = self._buckets.get(
            (cell.x // AREA_BUCKET_TILES, cell.y // AREA_BUCKET_TILES), ()
        )
        return [i for i in candidates if self._areas[i].rect.contains(cell.x, cell.y)]

    def at(self, cell: Position) -> tuple[Area, ...]:
        """The areas covering `cell`, in map order."""
        return tuple(self._areas[i] for i in self._indices_at(cell))

    def call_rules_at(self, cell: Position) -> CallRules:
        """What the areas covering `cell` say about calls there."""
        if (cell.x // AREA_BUCKET_TILES, cell.y // AREA_BUCKET_TILES) not in self._buckets:
            return NO_RULES
        private = None
        silent = False
        for i in self._indices_at(cell):
            kind = self._areas[i].kind
            if kind == "private" and private is None:
                private = i
            elif kind == "silent":
                silent = True
        return CallRules(private, silent)

    def spawn_rects(self) -> tuple[Rect, ...]:
        """The rectangles of the spawn areas, in map order."""
        return tuple(area.rect for area in self._areas if area.kind == "spawn")


def _last_bucket(start: int, length: int) -> int:
    return (start + length - 1) // AREA_BUCKET_TILES + 1
