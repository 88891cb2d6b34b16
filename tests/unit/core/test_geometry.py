from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaverse.core.geometry import Position, Rect, distance_sq, is_step

coords = st.integers(-20, 20)
sizes = st.integers(0, 15)
rects = st.builds(Rect, coords, coords, sizes, sizes)
positions = st.builds(Position, coords, coords)


def test_rect_rejects_negative_sizes() -> None:
    with pytest.raises(ValueError, match="negative"):
        Rect(0, 0, -1, 2)


def test_rect_contains_half_open() -> None:
    rect = Rect(2, 3, 2, 1)
    assert rect.contains(2, 3) and rect.contains(3, 3)
    assert not rect.contains(4, 3) and not rect.contains(2, 4) and not rect.contains(1, 3)


def test_clip_and_expand() -> None:
    assert Rect(-2, -1, 5, 4).clip(10, 10) == Rect(0, 0, 3, 3)
    assert Rect(8, 8, 5, 5).clip(10, 9) == Rect(8, 8, 2, 1)
    assert Rect(20, 0, 2, 2).clip(10, 10).is_empty
    assert Rect(1, 1, 2, 3).expand(2) == Rect(-1, -1, 6, 7)
    assert Rect(0, 0, 0, 5).is_empty and not Rect(0, 0, 1, 1).is_empty


@settings(deadline=None)
@given(rects, st.integers(1, 20), st.integers(1, 20), positions)
def test_clip_is_the_intersection(rect: Rect, width: int, height: int, cell: Position) -> None:
    clipped = rect.clip(width, height)
    inside = 0 <= cell.x < width and 0 <= cell.y < height
    assert clipped.contains(*cell) == (rect.contains(*cell) and inside)


@settings(deadline=None)
@given(rects, st.integers(0, 5), positions)
def test_expand_adds_the_margin(rect: Rect, margin: int, cell: Position) -> None:
    near = rect.x - margin <= cell.x < rect.x + rect.width + margin and (
        rect.y - margin <= cell.y < rect.y + rect.height + margin
    )
    assert rect.expand(margin).contains(*cell) == near


@settings(deadline=None)
@given(positions, positions)
def test_steps_and_distances_are_symmetric(a: Position, b: Position) -> None:
    assert is_step(a, b) == is_step(b, a) == (distance_sq(a, b) == 1)
    assert distance_sq(a, b) == distance_sq(b, a) >= 0


def test_only_orthogonal_single_cells_are_steps() -> None:
    here = Position(5, 5)
    assert [
        d for d in [(1, 0), (-1, 0), (0, 1), (0, -1)] if is_step(here, Position(5 + d[0], 5 + d[1]))
    ]
    for dx, dy in [(0, 0), (1, 1), (2, 0), (-1, 1), (0, -2)]:
        assert not is_step(here, Position(5 + dx, 5 + dy))
