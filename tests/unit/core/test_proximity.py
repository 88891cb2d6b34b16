from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaverse.core.geometry import Position, distance_sq
from metaverse.core.ids import UserId
from metaverse.core.proximity import STEPS, Pair, Proximity, arrival_tiles, pair
from metaverse.core.settle import pieces
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
    start = positions.move(user, cell)
    entered, left, _, _ = proximity.moved(user, start, eligible=True, private=None)
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
    start = positions.move(A, Position(8, 9))
    assert proximity.moved(A, start, eligible=True, private=1) == ([(A, B)], [], [], False)
    start = positions.move(A, Position(8, 8))
    # Leaving the area is a change of profile: A and their old links are touched.
    assert proximity.moved(A, start, eligible=True, private=None)[2:] == ([A, B], True)
    # Walking away outside: the far end of the lost link is touched too.
    proximity.set_profile(B, eligible=True, private=None)
    start = positions.move(A, Position(5, 5))
    assert proximity.moved(A, start, eligible=True, private=None) == ([], [(A, B)], [A, B], True)
    start = positions.move(A, Position(8, 8))
    assert proximity.moved(A, start, eligible=True, private=None) == ([(A, B)], [], [A], False)


def test_restore_and_link_rebuild_pairs() -> None:
    positions, proximity = _tracker()
    for user, cell in ((A, Position(0, 0)), (B, Position(5, 5))):
        positions.add(user, cell)
        proximity.restore(user)
    proximity.link(B, A)
    assert proximity.pairs() == [(A, B)]


walks = st.lists(
    st.tuples(st.integers(0, 5), st.booleans(), st.integers(0, 12), st.integers(0, 12)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(walks)
def test_nearness_is_symmetric_and_follows_the_hysteresis_rule(
    moves: list[tuple[int, bool, int, int]],
) -> None:
    """Jumps anywhere and one-cell steps (which look only at the tiles they bring within
    the radius) keep exactly the pairs the rule says."""
    people = [UserId(f"u{i}") for i in range(6)]
    positions, proximity = _tracker(*((u, Position(2 * i, 0)) for i, u in enumerate(people)))
    near = {pair(a, b) for a, b in combinations(people, 2) if _d2(positions, a, b) <= 4}
    assert set(proximity.pairs()) == near
    for who, step, x, y in moves:
        mover = people[who]
        if step:
            here = positions.position(mover)
            dx, dy = STEPS[x % 4]
            cell = Position(here.x + dx, here.y + dy)
        else:
            cell = Position(x, y)
        start = positions.move(mover, cell)
        entered, left, touched, _ = proximity.moved(mover, start, eligible=False, private=None)
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


@pytest.mark.parametrize("radius", [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.2])
@pytest.mark.parametrize("step", STEPS)
def test_the_arrival_tiles_are_those_a_step_brings_within_the_radius(
    radius: float, step: tuple[int, int]
) -> None:
    start = Position(10, 10)
    end = Position(start.x + step[0], start.y + step[1])
    box = [Position(x, y) for x in range(3, 18) for y in range(3, 18)]
    limit = radius * radius
    came_near = [
        (tile.x - end.x, tile.y - end.y)
        for tile in box
        if distance_sq(tile, end) <= limit and not distance_sq(tile, start) <= limit
    ]
    assert sorted(arrival_tiles(step, radius)) == sorted(came_near)


def test_a_step_finds_who_shares_the_tile_it_ends_on() -> None:
    # Below one tile of radius, only someone on the very tile is near after a step.
    positions = SpatialHash(1)
    proximity = Proximity(positions, 0.5, 0.5)
    for user, cell in ((A, Position(0, 0)), (B, Position(1, 0))):
        positions.add(user, cell)
        proximity.add(user)
    start = positions.move(A, Position(1, 0))
    assert proximity.moved(A, start, eligible=False, private=None)[:2] == ([(A, B)], [])


def _d2(positions: SpatialHash, a: UserId, b: UserId) -> int:
    return distance_sq(positions.position(a), positions.position(b))


profiles = st.sampled_from([None, 1, 2, "ineligible"])
crowds = st.lists(
    st.tuples(st.integers(0, 8), st.integers(0, 8), profiles, st.booleans()),
    min_size=1,
    max_size=9,
)


@settings(max_examples=300, deadline=None)
@given(crowds)
def test_connected_says_whether_the_members_are_one_part_through_links(
    crowd: list[tuple[int, int, int | str | None, bool]],
) -> None:
    people = [(UserId(f"u{i}"), Position(x, y)) for i, (x, y, _, _) in enumerate(crowd)]
    _, proximity = _tracker(*people)
    for (user, _), (_, _, profile, _) in zip(people, crowd, strict=True):
        if profile == "ineligible":
            proximity.set_profile(user, eligible=False, private=None)
        else:
            assert not isinstance(profile, str)
            proximity.set_profile(user, eligible=True, private=profile)
    members = {user for (user, _), (*_, chosen) in zip(people, crowd, strict=True) if chosen}
    if not members:
        members = {people[0][0]}
    expected = len(pieces(sorted(members), proximity.linked)) == 1
    assert proximity.connected(members) == expected
