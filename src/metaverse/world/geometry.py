"""Dimensions and rectangles as the API writes them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from metaverse.errors import InvalidInput

# ASCII digits only (`\d` alone also takes ٣ and the like), and nothing after: `$` would
# also match before a final newline.
_DIMENSIONS = re.compile(r"([0-9]{1,4})x([0-9]{1,4})")


@dataclass(frozen=True, slots=True)
class Dimensions:
    width: int
    height: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"

    def contains(self, x: int, y: int) -> bool:
        return 0 <= x < self.width and 0 <= y < self.height

    def contains_rect(self, x: int, y: int, width: int, height: int) -> bool:
        return (
            width >= 1
            and height >= 1
            and self.contains(x, y)
            and x + width <= self.width
            and y + height <= self.height
        )


def parse_dimensions(text: str) -> Dimensions:
    """`"WxH"` with 1-4 ASCII digits a side, each at least 1."""
    match = _DIMENSIONS.fullmatch(text)
    if match is None:
        raise InvalidInput('dimensions must look like "WxH", e.g. "100x200"')
    width, height = int(match[1]), int(match[2])
    if width < 1 or height < 1:
        raise InvalidInput("dimensions must be at least 1x1")
    return Dimensions(width, height)


def format_dimensions(width: int, height: int) -> str:
    return str(Dimensions(width, height))
