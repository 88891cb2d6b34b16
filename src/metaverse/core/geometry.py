"""Cells, rectangles, steps and distances on the tile grid.

Coordinates are whole tiles: x grows to the right, y grows downwards, and a
space of width x height covers x in [0, width) and y in [0, height).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class Position(NamedTuple):
    """A cell of the grid."""

    x: int
    y: int


@dataclass(frozen=True, slots=True)
class Rect:
    """The cells [x, x + width) x [y, y + height); empty when a side is 0."""

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width < 0 or self.height < 0:
            raise ValueError(f"negative size in {self}")

    @property
    def is_empty(self) -> bool:
        return self.width == 0 or self.height == 0

    def contains(self, x: int, y: int) -> bool:
        """Whether the cell (x, y) lies inside."""
        return self.x <= x < self.x + self.width and self.y <= y < self.y + self.height

    def clip(self, width: int, height: int) -> Rect:
        """The part inside a space of `width` x `height` (possibly empty)."""
        left, top = max(self.x, 0), max(self.y, 0)
        right = min(self.x + self.width, width)
        bottom = min(self.y + self.height, height)
        return Rect(left, top, max(right - left, 0), max(bottom - top, 0))

    def expand(self, margin: int) -> Rect:
        """The rectangle grown by `margin` cells on every side."""
        return Rect(
            self.x - margin, self.y - margin, self.width + 2 * margin, self.height + 2 * margin
        )


def is_step(start: Position, end: Position) -> bool:
    """Whether `end` is exactly one cell up, down, left or right of `start`."""
    return abs(end.x - start.x) + abs(end.y - start.y) == 1


def distance_sq(a: Position, b: Position) -> int:
    """The squared Euclidean distance in tiles² (exact, unlike the root)."""
    dx, dy = a.x - b.x, a.y - b.y
    return dx * dx + dy * dy
