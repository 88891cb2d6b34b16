"""The collision grid: which cells static elements block, and which moves are legal."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from metaverse.core.geometry import Position, Rect, is_step


@dataclass(frozen=True, slots=True)
class Element:
    """A placed element covering `width` x `height` cells from (x, y); only static ones block."""

    x: int
    y: int
    width: int
    height: int
    static: bool

    @property
    def rect(self) -> Rect:
        return Rect(self.x, self.y, self.width, self.height)


class CollisionGrid:
    """Blocked cells of a width x height space, one byte per cell."""

    __slots__ = ("_blocked", "height", "width")

    def __init__(self, width: int, height: int, elements: Iterable[Element] = ()) -> None:
        if width < 1 or height < 1:
            raise ValueError("a space is at least 1x1")
        self.width = width
        self.height = height
        self._blocked = bytearray(width * height)
        for element in elements:
            if element.static:
                self._block(element.rect.clip(width, height))

    def _block(self, rect: Rect) -> None:
        for y in range(rect.y, rect.y + rect.height):
            start = y * self.width + rect.x
            self._blocked[start : start + rect.width] = b"\x01" * rect.width

    def in_bounds(self, x: int, y: int) -> bool:
        return 0 <= x < self.width and 0 <= y < self.height

    def is_free(self, x: int, y: int) -> bool:
        """Inside the space and not covered by a static element."""
        return self.in_bounds(x, y) and not self._blocked[y * self.width + x]

    def has_free_cell(self) -> bool:
        return 0 in self._blocked

    def check_move(self, start: Position, end: Position) -> bool:
        """Whether stepping from `start` to `end` is legal: one orthogonal step onto a free cell."""
        return is_step(start, end) and self.is_free(end.x, end.y)
