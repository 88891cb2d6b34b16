"""Built-in demo content: the default avatars, the element catalogue and the demo office map.

Everything here is plain, immutable data (no I/O).  Image paths are URL paths: the
directory :data:`STATIC_DIR` is served at :data:`ASSETS_URL_PREFIX`, so
``/assets/avatars/ada.svg`` is the file ``STATIC_DIR / "avatars" / "ada.svg"``.

Sizes: a map cell is :data:`TILE_SIZE` pixels; an element of ``width`` x ``height`` cells
is drawn from an SVG whose viewBox is ``width * 32`` x ``height * 32``.  Avatars are
:data:`AVATAR_WIDTH` x :data:`AVATAR_HEIGHT` (one cell wide, one and a half cells tall:
draw them with their feet at the bottom of the avatar's cell).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

STATIC_DIR: Final[Path] = Path(__file__).parent / "static"
ASSETS_URL_PREFIX: Final[str] = "/assets"

TILE_SIZE: Final[int] = 32
AVATAR_WIDTH: Final[int] = 32
AVATAR_HEIGHT: Final[int] = 48
#: Floor colour the demo art is designed for (cells without a floor element).
DEFAULT_FLOOR_COLOR: Final[str] = "#e9e2d4"

AreaKind = Literal["room", "private", "silent", "spawn"]
AREA_KINDS: Final[frozenset[str]] = frozenset({"room", "private", "silent", "spawn"})

Cell = tuple[int, int]


@dataclass(frozen=True, slots=True)
class DemoAvatar:
    key: str
    name: str
    image: str  # URL path, e.g. "/assets/avatars/ada.svg"


@dataclass(frozen=True, slots=True)
class DemoElement:
    key: str
    name: str
    image: str  # URL path, e.g. "/assets/elements/desk.svg"
    width: int  # in cells
    height: int  # in cells
    static: bool  # static elements block movement


@dataclass(frozen=True, slots=True)
class DemoArea:
    name: str
    x: int
    y: int
    width: int
    height: int
    kind: AreaKind


@dataclass(frozen=True, slots=True)
class PlacedElement:
    element: str  # DemoElement.key
    x: int  # top-left cell
    y: int


@dataclass(frozen=True, slots=True)
class DemoMap:
    name: str
    width: int
    height: int
    areas: tuple[DemoArea, ...]
    elements: tuple[PlacedElement, ...]
    thumbnail: str  # URL path


def asset_url(*parts: str) -> str:
    """URL path of a file below :data:`STATIC_DIR`, e.g. ``asset_url("avatars", "ada.svg")``."""
    return "/".join((ASSETS_URL_PREFIX, *parts))


def asset_file(url: str) -> Path:
    """The file below :data:`STATIC_DIR` served at ``url`` (a path made by :func:`asset_url`)."""
    prefix = ASSETS_URL_PREFIX + "/"
    if not url.startswith(prefix):
        raise ValueError(f"not an asset URL: {url!r}")
    parts = url[len(prefix) :].split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"invalid asset URL: {url!r}")
    return STATIC_DIR.joinpath(*parts)


# --------------------------------------------------------------------------- avatars

DEMO_AVATARS: Final[tuple[DemoAvatar, ...]] = tuple(
    DemoAvatar(key=key, name=name, image=asset_url("avatars", f"{key}.svg"))
    for key, name in (
        ("ada", "Ada"),
        ("bao", "Bao"),
        ("chidi", "Chidi"),
        ("dara", "Dara"),
        ("elif", "Elif"),
        ("finn", "Finn"),
    )
)

# --------------------------------------------------------------------------- elements


def _element(key: str, name: str, width: int, height: int, static: bool) -> DemoElement:
    return DemoElement(key, name, asset_url("elements", f"{key}.svg"), width, height, static)


DEMO_ELEMENTS: Final[tuple[DemoElement, ...]] = (
    # floors (walkable, drawn under everything else)
    _element("floor-wood", "Wood floor", 1, 1, False),
    _element("floor-carpet", "Carpet", 1, 1, False),
    _element("floor-tiles", "Tiled floor", 1, 1, False),
    _element("grass", "Grass", 1, 1, False),
    _element("rug", "Rug", 3, 2, False),
    # structure
    _element("wall", "Wall", 1, 1, True),
    # furniture
    _element("desk", "Desk", 2, 1, True),
    _element("office-chair", "Office chair", 1, 1, False),
    _element("office-chair-down", "Office chair (facing down)", 1, 1, False),
    _element("meeting-table", "Meeting table", 3, 2, True),
    _element("sofa", "Sofa", 2, 1, True),
    _element("armchair", "Armchair", 1, 1, True),
    _element("coffee-table", "Coffee table", 2, 1, True),
    _element("bookshelf", "Bookshelf", 2, 1, True),
    _element("plant", "Plant", 1, 1, True),
    _element("whiteboard", "Whiteboard", 2, 1, True),
    _element("coffee-machine", "Coffee machine", 1, 1, True),
    _element("kitchen-counter", "Kitchen counter", 2, 1, True),
    _element("lamp", "Floor lamp", 1, 1, True),
)


def element_index(elements: Iterable[DemoElement] = DEMO_ELEMENTS) -> dict[str, DemoElement]:
    """Elements by key."""
    return {element.key: element for element in elements}


# --------------------------------------------------------------------------- demo map
#
# 40 x 30 cells.  Layout (x to the right, y down):
#   meeting room (private)   top-left      x 1..9,   y 1..8   door on its right wall
#   open-plan desks          top-middle    x 11..28, y 1..14
#   library (silent)         top-right     x 30..38, y 1..8   door in its bottom wall
#   desks                    bottom-left   x 1..12,  y 11..24
#   town hall (room)         middle        x 16..23, y 15..19
#   lounge (room)            bottom-right  x 28..38, y 18..28 doors on top and left
#   entrance + spawn         bottom-middle x 17..22, y 25..28 gap in the outer wall

_WIDTH: Final = 40
_HEIGHT: Final = 30


def _put(key: str, cells: Iterable[Cell]) -> Iterator[PlacedElement]:
    for x, y in cells:
        yield PlacedElement(key, x, y)


def _rect(x: int, y: int, width: int, height: int) -> list[Cell]:
    return [(cx, cy) for cy in range(y, y + height) for cx in range(x, x + width)]


def _hline(x0: int, x1: int, y: int, gaps: Iterable[int] = ()) -> list[Cell]:
    skip = set(gaps)
    return [(x, y) for x in range(x0, x1 + 1) if x not in skip]


def _vline(x: int, y0: int, y1: int, gaps: Iterable[int] = ()) -> list[Cell]:
    skip = set(gaps)
    return [(x, y) for y in range(y0, y1 + 1) if y not in skip]


def _build_elements() -> tuple[PlacedElement, ...]:
    placed: list[PlacedElement] = []
    add = placed.extend

    # Floors first (the renderer draws non-static elements first anyway).
    add(_put("floor-carpet", _rect(1, 1, 9, 8)))  # meeting room
    add(_put("floor-wood", _rect(30, 1, 9, 8)))  # library
    add(_put("floor-tiles", _rect(33, 18, 6, 3)))  # kitchenette
    add(_put("floor-tiles", _rect(17, 25, 6, 5)))  # entrance hall (incl. doorway)
    add(_put("grass", _rect(13, 27, 3, 2)))  # planters by the entrance
    add(_put("grass", _rect(24, 27, 3, 2)))

    # Outer walls, with a 2-cell entrance in the bottom wall.
    add(_put("wall", _hline(0, _WIDTH - 1, 0)))
    add(_put("wall", _hline(0, _WIDTH - 1, _HEIGHT - 1, gaps=(19, 20))))
    add(_put("wall", _vline(0, 1, _HEIGHT - 2)))
    add(_put("wall", _vline(_WIDTH - 1, 1, _HEIGHT - 2)))

    # Meeting room (private): x 1..9, y 1..8.
    add(_put("wall", _vline(10, 1, 9, gaps=(7, 8))))
    add(_put("wall", _hline(1, 9, 9)))
    add(_put("whiteboard", [(4, 1)]))
    add(_put("plant", [(1, 1), (9, 1)]))
    add(_put("meeting-table", [(4, 4)]))
    add(_put("office-chair-down", _hline(4, 6, 3)))
    add(_put("office-chair", _hline(4, 6, 6)))
    add(_put("lamp", [(1, 8)]))

    # Library (silent): x 30..38, y 1..8.
    add(_put("wall", _vline(29, 1, 9)))
    add(_put("wall", [(38, 9)]))
    add(_put("bookshelf", [(30, 9), (34, 9), (36, 9)]))  # partition, door at x 32..33
    add(_put("bookshelf", [(30, 1), (32, 1), (34, 1), (36, 1)]))
    add(_put("plant", [(38, 1)]))
    add(_put("rug", [(31, 4)]))
    add(_put("armchair", [(31, 4), (33, 4)]))
    add(_put("lamp", [(32, 4)]))
    add(_put("desk", [(36, 5), (30, 7)]))
    add(_put("office-chair", [(36, 6), (30, 8)]))
    add(_put("plant", [(38, 8)]))

    # Open-plan desks: rows of desks (chair below each desk's left cell).
    for y in (2, 6, 10):
        for x in (13, 16, 19, 22, 25):
            add(_put("desk", [(x, y)]))
            add(_put("office-chair", [(x, y + 1)]))
    add(_put("plant", [(11, 1), (28, 1), (28, 13)]))

    # Bottom-left desks.
    for y in (13, 17, 21):
        for x in (2, 5, 8):
            add(_put("desk", [(x, y)]))
            add(_put("office-chair", [(x, y + 1)]))
    add(_put("plant", [(1, 11), (1, 28), (11, 11)]))

    # Lounge (room): x 28..38, y 18..28.
    add(_put("wall", _hline(27, 38, 17, gaps=(30, 31))))
    add(_put("wall", _vline(27, 18, 28, gaps=(20, 21))))
    add(_put("kitchen-counter", [(33, 18), (36, 18)]))
    add(_put("coffee-machine", [(35, 18)]))
    add(_put("plant", [(38, 18), (28, 18), (38, 28), (28, 28)]))
    add(_put("rug", [(30, 22), (34, 25)]))
    add(_put("sofa", [(30, 21), (34, 24)]))
    add(_put("armchair", [(32, 21), (36, 24)]))
    add(_put("coffee-table", [(30, 22), (34, 25)]))
    add(_put("lamp", [(29, 21), (33, 24)]))
    add(_put("armchair", [(29, 26), (30, 26)]))
    add(_put("coffee-table", [(29, 27)]))

    # Town hall (room): a whiteboard facing two rows of chairs.
    add(_put("floor-carpet", _rect(16, 15, 8, 5)))
    add(_put("whiteboard", [(19, 15)]))
    add(_put("office-chair", _hline(17, 22, 17) + _hline(17, 22, 18)))
    add(_put("plant", [(16, 15), (23, 15)]))
    add(_put("lamp", [(17, 15), (22, 15)]))

    # Entrance: planters and a little waiting corner either side of the doorway.
    add(_put("plant", [(14, 27), (25, 27)]))
    add(_put("armchair", [(13, 23), (14, 23), (25, 23), (26, 23)]))
    add(_put("coffee-table", [(13, 24), (25, 24)]))
    add(_put("lamp", [(15, 23), (24, 23)]))

    return tuple(placed)


DEMO_MAP: Final[DemoMap] = DemoMap(
    name="Demo office",
    width=_WIDTH,
    height=_HEIGHT,
    areas=(
        DemoArea("Meeting room", 1, 1, 9, 8, "private"),
        DemoArea("Library", 30, 1, 9, 8, "silent"),
        DemoArea("Lounge", 28, 18, 11, 11, "room"),
        DemoArea("Town hall", 16, 15, 8, 5, "room"),
        DemoArea("Entrance", 17, 25, 6, 4, "spawn"),
    ),
    elements=_build_elements(),
    thumbnail=asset_url("maps", "demo-office.png"),
)


# --------------------------------------------------------------------------- helpers


def element_cells(placed: PlacedElement, element: DemoElement) -> list[Cell]:
    """The cells covered by one placed element."""
    return _rect(placed.x, placed.y, element.width, element.height)


def blocked_cells(
    demo_map: DemoMap = DEMO_MAP,
    elements: Mapping[str, DemoElement] | None = None,
) -> frozenset[Cell]:
    """Cells covered by a static element (the cells nobody can walk onto)."""
    index = element_index() if elements is None else elements
    blocked: set[Cell] = set()
    for placed in demo_map.elements:
        element = index[placed.element]
        if element.static:
            blocked.update(element_cells(placed, element))
    return frozenset(blocked)


def reachable_cells(
    demo_map: DemoMap, blocked: frozenset[Cell], start: Iterable[Cell]
) -> frozenset[Cell]:
    """Free cells reachable from ``start`` by 4-neighbour steps inside the map."""
    seen = {cell for cell in start if cell not in blocked}
    queue = deque(seen)
    while queue:
        x, y = queue.popleft()
        for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if (
                0 <= nx < demo_map.width
                and 0 <= ny < demo_map.height
                and (nx, ny) not in blocked
                and (nx, ny) not in seen
            ):
                seen.add((nx, ny))
                queue.append((nx, ny))
    return frozenset(seen)
