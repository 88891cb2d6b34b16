from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaverse.core.geometry import Position, Rect, distance_sq
from metaverse.core.ids import UserId
from metaverse.core.spatial import SpatialHash

cells = st.builds(Position, st.integers(0, 30), st.integers(0, 30))
crowds = st.dictionaries(st.sampled_from([UserId(f"u{i}") for i in range(30)]), cells, max_size=30)


def test_add_move_remove() -> None:
    index = SpatialHash(3)
    a, b = UserId("a"), UserId("b")
    index.add(a, Position(1, 1))
    index.add(b, Position(2, 2))
    with pytest.raises(ValueError, match="already"):
        index.add(a, Position(0, 0))
    assert len(index) == 2 and a in index and "c" not in index
    assert index.move(a, Position(2, 1)) == Position(1, 1)
    assert index.move(a, Position(3, 1)) == Position(2, 1)
    assert index.move(a, Position(2, 1)) == Position(3, 1)
    assert index.move(a, Position(5, 1)) == Position(2, 1)
    assert index.remove(b) == Position(2, 2)
    assert list(index.users()) == [(a, Position(5, 1))]
    assert index.remove(a) == Position(5, 1)
    assert len(index) == 0 and list(index.near(Position(5, 1), 3)) == []


def test_cells_are_at_least_a_tile() -> None:
    with pytest.raises(ValueError, match="one tile"):
        SpatialHash(0)


@settings(deadline=None)
@given(crowds, cells, st.sampled_from([0.5, 1.0, 2.0, 2.5, 3.0, 7.0]), st.integers(1, 6))
def test_near_finds_exactly_the_disc(
    crowd: dict[UserId, Position], centre: Position, radius: float, cell: int
) -> None:
    index = SpatialHash(cell)
    for user, at in crowd.items():
        index.add(user, at)
    expected = {u for u, at in crowd.items() if distance_sq(at, centre) <= radius * radius}
    found = list(index.near(centre, radius))
    assert sorted(found) == sorted(expected)


@settings(deadline=None)
@given(
    crowds,
    st.builds(
        Rect, st.integers(-5, 35), st.integers(-5, 35), st.integers(0, 40), st.integers(0, 40)
    ),
    st.integers(1, 6),
)
def test_within_finds_exactly_the_rectangle(
    crowd: dict[UserId, Position], rect: Rect, cell: int
) -> None:
    index = SpatialHash(cell)
    for user, at in crowd.items():
        index.add(user, at)
    found = list(index.within(rect))
    assert sorted(found) == sorted(u for u, at in crowd.items() if rect.contains(*at))
