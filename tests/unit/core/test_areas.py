from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaverse.core.areas import AREA_BUCKET_TILES, Area, AreaIndex
from metaverse.core.geometry import Position, Rect

from .model import PLAYGROUND, call_rules

kinds = st.sampled_from(("room", "private", "silent", "spawn"))
areas = st.builds(
    Area,
    st.text("abc", max_size=3),
    st.integers(-5, 40),
    st.integers(-5, 40),
    st.integers(0, 30),
    st.integers(0, 30),
    kinds,
)


def test_areas_check_their_kind_and_size() -> None:
    with pytest.raises(ValueError, match="kind"):
        Area("x", 0, 0, 1, 1, "lobby")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        Area("x", 0, 0, -1, 1, "room")
    assert Area("x", 1, 2, 3, 4, "room").rect == Rect(1, 2, 3, 4)


def test_lookups_answer_in_map_order() -> None:
    index = AreaIndex(PLAYGROUND.areas, PLAYGROUND.width, PLAYGROUND.height)
    assert [a.name for a in index.at(Position(9, 2))] == ["booth", "nook"]
    assert index.call_rules_at(Position(9, 2)) == (1, False)
    assert index.call_rules_at(Position(10, 3)) == (2, False)
    assert index.call_rules_at(Position(1, 7)) == (None, True)
    assert index.call_rules_at(Position(5, 5)) == (None, False)
    assert index.at(Position(0, 3)) == ()
    assert index.spawn_rects() == (Rect(0, 0, 3, 2),)


def test_areas_outside_the_space_cover_nothing() -> None:
    index = AreaIndex(
        [Area("gone", 50, 50, 4, 4, "silent"), Area("flat", 1, 1, 0, 3, "room")], 10, 10
    )
    assert all(index.at(Position(x, y)) == () for x in range(10) for y in range(10))


cells = st.integers(0, 2 * AREA_BUCKET_TILES)


@settings(deadline=None)
@given(st.lists(areas, max_size=6), cells, cells)
def test_the_index_agrees_with_a_scan(placed: list[Area], x: int, y: int) -> None:
    side = 2 * AREA_BUCKET_TILES + 1
    index = AreaIndex(placed, side, side)
    cell = Position(x, y)
    assert index.at(cell) == tuple(a for a in placed if a.rect.contains(x, y))
    assert index.call_rules_at(cell) == call_rules(placed, (x, y))
