"""The static description of a space the core runs on: size, elements and areas."""

from __future__ import annotations

from dataclasses import dataclass

from metaverse.core.areas import Area
from metaverse.core.grid import Element


@dataclass(frozen=True, slots=True)
class SpaceMap:
    """A space's layout; it doesn't change while the space is hosted."""

    width: int
    height: int
    elements: tuple[Element, ...] = ()
    areas: tuple[Area, ...] = ()
