"""The built-in art and the demo data: files exist and are well formed, the map is playable."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from metaverse.assets.demo import (
    AREA_KINDS,
    ASSETS_URL_PREFIX,
    AVATAR_HEIGHT,
    AVATAR_WIDTH,
    DEMO_AVATARS,
    DEMO_ELEMENTS,
    DEMO_MAP,
    STATIC_DIR,
    TILE_SIZE,
    Cell,
    DemoElement,
    asset_file,
    asset_url,
    blocked_cells,
    element_cells,
    element_index,
    reachable_cells,
)

SVG_NS = "{http://www.w3.org/2000/svg}"
ELEMENTS = element_index()


def _svg_size(url: str) -> tuple[float, float]:
    """Parse the SVG served at ``url`` and return its viewBox width and height."""
    path = asset_file(url)
    assert path.is_file(), f"missing {path}"
    root = ET.fromstring(path.read_bytes())  # noqa: S314 - our own files
    assert root.tag == f"{SVG_NS}svg", f"{url}: root is {root.tag}"
    view_box = root.get("viewBox")
    assert view_box is not None, f"{url}: no viewBox"
    min_x, min_y, width, height = (float(part) for part in view_box.replace(",", " ").split())
    assert (min_x, min_y) == (0, 0), f"{url}: viewBox does not start at 0 0"
    return width, height


def _free_cells() -> set[Cell]:
    blocked = blocked_cells()
    return {
        (x, y)
        for x in range(DEMO_MAP.width)
        for y in range(DEMO_MAP.height)
        if (x, y) not in blocked
    }


def _spawn_cells() -> set[Cell]:
    return {
        (x, y)
        for area in DEMO_MAP.areas
        if area.kind == "spawn"
        for x in range(area.x, area.x + area.width)
        for y in range(area.y, area.y + area.height)
    }


# --------------------------------------------------------------------------- files


def test_asset_urls_map_into_the_static_dir() -> None:
    url = asset_url("avatars", "ada.svg")
    assert url == f"{ASSETS_URL_PREFIX}/avatars/ada.svg"
    assert asset_file(url) == STATIC_DIR / "avatars" / "ada.svg"
    for bad in ("/elsewhere/a.svg", "/assets/../demo.py", "/assets//a.svg"):
        with pytest.raises(ValueError):
            asset_file(bad)


def test_six_distinct_avatars_of_one_size() -> None:
    assert len(DEMO_AVATARS) == 6
    assert len({avatar.key for avatar in DEMO_AVATARS}) == 6
    assert len({avatar.name for avatar in DEMO_AVATARS}) == 6
    contents = set()
    for avatar in DEMO_AVATARS:
        assert avatar.image == asset_url("avatars", f"{avatar.key}.svg")
        assert _svg_size(avatar.image) == (AVATAR_WIDTH, AVATAR_HEIGHT)
        contents.add(asset_file(avatar.image).read_bytes())
    assert len(contents) == 6


@pytest.mark.parametrize("element", DEMO_ELEMENTS, ids=lambda element: element.key)
def test_element_svg_matches_its_size(element: DemoElement) -> None:
    assert element.width >= 1
    assert element.height >= 1
    assert element.image == asset_url("elements", f"{element.key}.svg")
    assert _svg_size(element.image) == (element.width * TILE_SIZE, element.height * TILE_SIZE)


def test_element_catalogue() -> None:
    assert len(ELEMENTS) == len(DEMO_ELEMENTS), "duplicate element keys"
    expected = {
        "floor-wood": (1, 1, False),
        "floor-carpet": (1, 1, False),
        "floor-tiles": (1, 1, False),
        "grass": (1, 1, False),
        "wall": (1, 1, True),
        "desk": (2, 1, True),
        "office-chair": (1, 1, False),
        "meeting-table": (3, 2, True),
        "sofa": (2, 1, True),
        "armchair": (1, 1, True),
        "bookshelf": (2, 1, True),
        "plant": (1, 1, True),
        "whiteboard": (2, 1, True),
        "coffee-machine": (1, 1, True),
        "rug": (3, 2, False),
        "lamp": (1, 1, True),
    }
    for key, (width, height, static) in expected.items():
        element = ELEMENTS[key]
        assert (element.width, element.height, element.static) == (width, height, static), key
    for element in DEMO_ELEMENTS:
        assert 0 < len(element.name) <= 64


def test_no_stray_art_and_no_external_references() -> None:
    referenced = {asset_file(avatar.image) for avatar in DEMO_AVATARS}
    referenced |= {asset_file(element.image) for element in DEMO_ELEMENTS}
    on_disk = set(STATIC_DIR.glob("avatars/*.svg")) | set(STATIC_DIR.glob("elements/*.svg"))
    assert on_disk == referenced
    for path in on_disk:
        text = path.read_text(encoding="utf-8")
        assert "http" not in text.replace("http://www.w3.org/2000/svg", ""), path.name
        assert "href" not in text, path.name


def test_thumbnail_is_a_small_png() -> None:
    path = asset_file(DEMO_MAP.thumbnail)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) < 300_000


# --------------------------------------------------------------------------- map


def test_map_shape() -> None:
    assert DEMO_MAP.name == "Demo office"
    assert 30 <= DEMO_MAP.width <= 50
    assert 20 <= DEMO_MAP.height <= 40
    assert 0 < len(DEMO_MAP.elements) < 600


def test_map_elements_exist_and_lie_inside() -> None:
    for placed in DEMO_MAP.elements:
        assert placed.element in ELEMENTS, placed
        element = ELEMENTS[placed.element]
        assert placed.x >= 0 and placed.x + element.width <= DEMO_MAP.width, placed
        assert placed.y >= 0 and placed.y + element.height <= DEMO_MAP.height, placed


def test_static_elements_do_not_overlap() -> None:
    covered: Counter[Cell] = Counter()
    for placed in DEMO_MAP.elements:
        element = ELEMENTS[placed.element]
        if element.static:
            covered.update(element_cells(placed, element))
    overlaps = sorted(cell for cell, count in covered.items() if count > 1)
    assert overlaps == []
    assert set(covered) == blocked_cells()


def test_no_duplicate_placements() -> None:
    counts = Counter(DEMO_MAP.elements)
    assert [placed for placed, count in counts.items() if count > 1] == []


def test_areas() -> None:
    names = [area.name for area in DEMO_MAP.areas]
    assert len(set(names)) == len(names)
    for area in DEMO_MAP.areas:
        assert area.kind in AREA_KINDS
        assert 0 < len(area.name) <= 64
        assert area.width >= 1 and area.height >= 1
        assert area.x >= 0 and area.x + area.width <= DEMO_MAP.width, area
        assert area.y >= 0 and area.y + area.height <= DEMO_MAP.height, area
    assert {area.kind for area in DEMO_MAP.areas} == AREA_KINDS


def test_border_is_walled_except_the_entrance() -> None:
    blocked = blocked_cells()
    w, h = DEMO_MAP.width, DEMO_MAP.height
    border = {(x, 0) for x in range(w)} | {(x, h - 1) for x in range(w)}
    border |= {(0, y) for y in range(h)} | {(w - 1, y) for y in range(h)}
    openings = border - blocked
    assert 1 <= len(openings) <= 4


def test_spawn_has_room_to_stand_side_by_side() -> None:
    free = _free_cells()
    spawn = _spawn_cells()
    assert spawn
    assert any((x, y) in free and (x + 1, y) in free for x, y in spawn)


def test_every_free_cell_is_reachable_from_spawn() -> None:
    free = _free_cells()
    start = _spawn_cells() & free
    reached = reachable_cells(DEMO_MAP, blocked_cells(), start)
    assert sorted(free - reached) == []


def test_every_area_is_reachable() -> None:
    reached = reachable_cells(DEMO_MAP, blocked_cells(), _spawn_cells())
    for area in DEMO_MAP.areas:
        cells = {
            (x, y)
            for x in range(area.x, area.x + area.width)
            for y in range(area.y, area.y + area.height)
        }
        assert cells & reached, area.name
