from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from metaverse.core.geometry import Position, distance_sq
from metaverse.core.ids import UserId
from metaverse.core.proximity import Pair, Proximity, pair
from metaverse.core.spatial import SpatialHash

A, B, C, D = (UserId(name) for name in "abcd")


def _tracker(*placed: tuple[UserId, Position]) -> tuple[SpatialHash, Proximity]:
    positions = SpatialHash(3)
    proximity = Proximity(positions, 2.0, 3.0)
    for user, cell in placed:
        positions.add(user, cell)
        proximity.add(user)
    return positions, proximity


def _move(
    positions: SpatialHash, proximity: Proximity, user: UserId, cell: Position
) -> tuple[list[Pair], list[Pair]]:
    positions.move(user, cell)
    entered, left, _, _ = proximity.moved(user, eligible=True, private=None)
    return list(entered), list(left)


def test_pairs_are_named_in_id_order() -> None:
    assert pair(B, A) == pair(A, B) == (A, B)


def test_near_within_the_radius_and_until_beyond_the_leave_radius() -> None:
    positions, proximity = _tracker((A, Position(0, 0)))
    positions.add(B, Position(2, 0))
    assert proximity.add(B) == [(A, B)]
    # 3 tiles: beyond the join radius but within the leave radius, so still near.
    assert _move(positions, proximity, B, Position(3, 0)) == ([], [])
    assert proximity.near_of(A) == {B}
    # sqrt(10) > 3: no longer near.
    assert _move(positions, proximity, B, Position(3, 1)) == ([], [(A, B)])
    # Back at 3 tiles: not near again until within 2.
    assert _move(positions, proximity, B, Position(3, 0)) == ([], [])
    assert _move(positions, proximity, B, Position(2, 0)) == ([(A, B)], [])


def test_remove_reports_the_pairs_and_the_links_to_settle() -> None:
    positions, proximity = _tracker((A, Position(0, 0)), (B, Position(1, 0)), (C, Position(9, 9)))
    proximity.set_profile(A, eligible=True, private=None)
    proximity.set_profile(B, eligible=True, private=None)
    positions.remove(A)
    assert proximity.remove(A) == ([(A, B)], [A, B])
    assert proximity.pairs() == []
    positions.remove(C)
    assert proximity.remove(C) == ([], [])


def test_links_follow_nearness_outside_and_the_area_inside_private_areas() -> None:
    _, proximity = _tracker(
        (A, Position(0, 0)), (B, Position(1, 0)), (C, Position(20, 20)), (D, Position(2, 0))
    )
    for user in (A, B, D):
        proximity.set_profile(user, eligible=True, private=None)
    proximity.set_profile(C, eligible=True, private=7)
    assert sorted(proximity.neighbours(A)) == [B, D]
    assert proximity.linked(A, B) and not proximity.linked(A, C)
    # B walks into C's private area (far away): linked to C only, whatever the distance.
    assert sorted(proximity.set_profile(B, eligible=True, private=7)) == [A, B, D]
    assert (
        list(proximity.neighbours(B)) == [C] and proximity.linked(B, C) and proximity.linked(C, B)
    )
    assert not proximity.linked(A, B) and not proximity.linked(B, A)
    assert sorted(proximity.neighbours(A)) == [D]
    # Unchanged profiles touch nobody; ineligible users have no links.
    assert proximity.set_profile(B, eligible=True, private=7) == []
    assert proximity.set_profile(C, eligible=False, private=7) == [C, B]
    assert list(proximity.neighbours(C)) == [] and not proximity.linked(C, B)
    assert list(proximity.neighbours(B)) == [] and not proximity.is_eligible(C)
    assert proximity.set_profile(B, eligible=False, private=None) == [B]


def test_moves_inside_a_private_area_touch_no_links() -> None:
    positions, proximity = _tracker((A, Position(0, 0)), (B, Position(9, 9)))
    proximity.set_profile(A, eligible=True, private=1)
    proximity.set_profile(B, eligible=True, private=1)
    positions.move(A, Position(8, 9))
    assert proximity.moved(A, eligible=True, private=1) == ([(A, B)], [], [], False)
    positions.move(A, Position(8, 8))
    # Leaving the area is a change of profile: A and their old links are touched.
    assert proximity.moved(A, eligible=True, private=None)[2:] == ([A, B], True)
    # Walking away outside: the far end of the lost link is touched too.
    proximity.set_profile(B, eligible=True, private=None)
    positions.move(A, Position(5, 5))
    assert proximity.moved(A, eligible=True, private=None) == ([], [(A, B)], [A, B], True)
    positions.move(A, Position(8, 8))
    assert proximity.moved(A, eligible=True, private=None) == ([(A, B)], [], [A], False)


def test_restore_and_link_rebuild_pairs() -> None:
    positions, proximity = _tracker()
    for user, cell in ((A, Position(0, 0)), (B, Position(5, 5))):
        positions.add(user, cell)
        proximity.restore(user)
    proximity.link(B, A)
    assert proximity.pairs() == [(A, B)]


walks = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=60
)


@settings(max_examples=150, deadline=None)
@given(walks)
def test_nearness_is_symmetric_and_follows_the_hysteresis_rule(
    moves: list[tuple[int, int, int]],
) -> None:
    people = [UserId(f"u{i}") for i in range(6)]
    positions, proximity = _tracker(*((u, Position(2 * i, 0)) for i, u in enumerate(people)))
    near = {pair(a, b) for a, b in combinations(people, 2) if _d2(positions, a, b) <= 4}
    assert set(proximity.pairs()) == near
    for who, x, y in moves:
        mover = people[who]
        positions.move(mover, Position(x, y))
        entered, left, touched, _ = proximity.moved(mover, eligible=False, private=None)
        assert touched == []
        after = {
            pair(a, b)
            for a, b in combinations(people, 2)
            if _d2(positions, a, b) <= 4 or (pair(a, b) in near and _d2(positions, a, b) <= 9)
        }
        assert set(entered) == after - near and set(left) == near - after
        near = after
        assert set(proximity.pairs()) == near
        for a, b in combinations(people, 2):
            assert (b in proximity.near_of(a)) == (a in proximity.near_of(b))


def _d2(positions: SpatialHash, a: UserId, b: UserId) -> int:
    return distance_sq(positions.position(a), positions.position(b))
