from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from metaverse.core.config import INTEREST_BUCKET_TILES
from metaverse.core.geometry import Position, Rect
from metaverse.core.ids import UserId
from metaverse.core.interest import Interest
from metaverse.core.spatial import SpatialHash

A, B, C = (UserId(name) for name in "abc")
SIDE = max(64, 3 * INTEREST_BUCKET_TILES)


def _world(*placed: tuple[UserId, Position]) -> tuple[SpatialHash, Interest]:
    positions = SpatialHash(3)
    for user, cell in placed:
        positions.add(user, cell)
    return positions, Interest(positions, SIDE, SIDE, margin_tiles=2)


def test_regions_are_viewports_plus_margin_clipped() -> None:
    _, interest = _world()
    assert interest.set(A, Rect(0, 0, 4, 4)) == (None, Rect(0, 0, 6, 6))
    assert interest.viewport(A) == Rect(0, 0, 4, 4) and A in interest
    assert interest.set(A, Rect(10, 10, 2, 2)) == (Rect(0, 0, 6, 6), Rect(8, 8, 6, 6))
    assert interest.set(A, None) == (Rect(8, 8, 6, 6), None)
    assert interest.viewport(A) is None and A not in interest
    assert interest.set(A, None) == (None, None)
    # A viewport off the map watches nothing.
    assert interest.set(B, Rect(-50, -50, 3, 3))[1] == Rect(0, 0, 0, 0)
    assert interest.watchers(Position(0, 0), besides=A) == []


def test_watchers_of_a_move() -> None:
    _, interest = _world()
    interest.set(A, Rect(0, 0, 4, 4))  # region 0..5
    interest.set(B, Rect(6, 0, 4, 4))  # region 4..11
    interest.set(C, Rect(40, 40, 1, 1))
    assert interest.watchers(Position(5, 1), besides=C) == [A, B]
    assert interest.watchers(Position(5, 1), besides=A) == [B]
    assert interest.watchers_of_move(C, Position(3, 1), Position(4, 1)) == ([A], [B], [])
    assert interest.watchers_of_move(C, Position(6, 1), Position(5, 1)) == ([B], [A], [])
    assert interest.watchers_of_move(C, Position(5, 1), Position(6, 1)) == ([B], [], [A])
    assert interest.watchers_of_move(A, Position(5, 1), Position(6, 1)) == ([B], [], [])
    # Across a bucket border, and from nowhere watched to somewhere watched.
    edge = 2 * INTEREST_BUCKET_TILES
    interest.set(C, Rect(edge, 0, 2, 2))
    assert interest.watchers_of_move(A, Position(edge - 1, 0), Position(edge, 0)) == ([C], [], [])
    assert interest.watchers_of_move(A, Position(SIDE - 1, SIDE - 1), Position(edge, 0)) == (
        [],
        [C],
        [],
    )


def test_changes_of_a_viewport() -> None:
    positions, interest = _world((A, Position(1, 1)), (B, Position(9, 9)), (C, Position(30, 30)))
    old, new = interest.set(A, Rect(0, 0, 2, 2))
    assert interest.changes(A, old, new) == ([], [])
    assert interest.in_view(A) == []
    old, new = interest.set(A, Rect(8, 8, 2, 2))
    assert interest.changes(A, old, new) == ([B], [])
    assert interest.in_view(A) == [B]
    old, new = interest.set(A, Rect(28, 28, 2, 2))
    assert interest.changes(A, old, new) == ([C], [B])
    old, new = interest.set(A, None)
    # Back to every movement: everyone outside the old region "enters".
    assert interest.changes(A, old, new) == ([B], [])
    assert interest.changes(A, None, None) == ([], [])
    assert interest.in_view(A) == []
    assert positions.position(A) == Position(1, 1)


people = [UserId(f"u{i}") for i in range(8)]
cells = st.builds(Position, st.integers(0, SIDE - 1), st.integers(0, SIDE - 1))
viewports = st.one_of(
    st.none(),
    st.builds(
        Rect, st.integers(-5, SIDE), st.integers(-5, SIDE), st.integers(0, 20), st.integers(0, 20)
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(cells, min_size=8, max_size=8),
    st.lists(st.tuples(st.integers(0, 7), viewports, cells), max_size=30),
)
def test_watchers_and_changes_agree_with_brute_force(
    start: list[Position], steps: list[tuple[int, Rect | None, Position]]
) -> None:
    positions, interest = _world(*zip(people, start, strict=True))

    def sees(viewer: UserId, cell: Position) -> bool:
        viewport = interest.viewport(viewer)
        return viewport is not None and viewport.expand(2).clip(SIDE, SIDE).contains(*cell)

    for who, viewport, cell in steps:
        user = people[who]
        before = {
            v: {u for u in people if u != v and sees(v, positions.position(u))} for v in people
        }
        old, new = interest.set(user, viewport)
        entering, leaving = interest.changes(user, old, new)
        after = {u for u in people if u != user and sees(user, positions.position(u))}
        if viewport is None and old is not None:
            outside = {u for u in people if u != user and not old.contains(*positions.position(u))}
            assert set(entering) == outside and leaving == []
        elif viewport is not None:
            assert set(entering) == after - before[user] and set(leaving) == before[user] - after
        assert interest.in_view(user) == sorted(after)
        origin = positions.move(user, cell)
        seeing, entered, left = interest.watchers_of_move(user, origin, cell)
        watchers = {v for v in people if v != user and sees(v, cell)}
        was = {v for v in people if v != user and sees(v, origin)}
        assert set(seeing) == watchers & was
        assert set(entered) == watchers - was and set(left) == was - watchers
        assert interest.watchers(cell, besides=user) == sorted(watchers)
