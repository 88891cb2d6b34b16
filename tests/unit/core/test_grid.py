from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaverse.core.geometry import Position
from metaverse.core.grid import CollisionGrid, Element

elements = st.builds(
    Element,
    st.integers(-3, 12),
    st.integers(-3, 12),
    st.integers(0, 5),
    st.integers(0, 5),
    static=st.booleans(),
)


def test_a_space_has_cells() -> None:
    with pytest.raises(ValueError, match="at least"):
        CollisionGrid(0, 4)


def test_only_static_elements_block_their_cells_clipped() -> None:
    grid = CollisionGrid(
        5, 4, [Element(3, 2, 4, 5, static=True), Element(0, 0, 2, 2, static=False)]
    )
    blocked = {(x, y) for x in range(5) for y in range(4) if not grid.is_free(x, y)}
    assert blocked == {(3, 2), (4, 2), (3, 3), (4, 3)}
    assert grid.has_free_cell()
    assert not grid.is_free(-1, 0) and not grid.is_free(5, 0) and not grid.is_free(0, 4)


def test_a_fully_covered_grid_has_no_free_cell() -> None:
    assert not CollisionGrid(3, 2, [Element(-1, -1, 9, 9, static=True)]).has_free_cell()


@settings(deadline=None)
@given(
    st.integers(1, 10),
    st.integers(1, 10),
    st.lists(elements, max_size=6),
    st.builds(Position, st.integers(-1, 10), st.integers(-1, 10)),
    st.builds(Position, st.integers(-1, 10), st.integers(-1, 10)),
)
def test_a_move_is_one_step_onto_a_free_cell(
    width: int, height: int, placed: list[Element], start: Position, end: Position
) -> None:
    grid = CollisionGrid(width, height, placed)
    covered = any(
        e.static and e.x <= end.x < e.x + e.width and e.y <= end.y < e.y + e.height for e in placed
    )
    inside = 0 <= end.x < width and 0 <= end.y < height
    one_step = abs(end.x - start.x) + abs(end.y - start.y) == 1
    assert grid.check_move(start, end) == (one_step and inside and not covered)
