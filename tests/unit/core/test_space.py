"""The facade: commands, the events they return, and the queries."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaverse.core.areas import Area
from metaverse.core.config import SpaceConfig
from metaverse.core.events import (
    CallJoined,
    CallLeft,
    CallPeer,
    CallPeerLeft,
    Event,
    InterestEnter,
    InterestLeave,
    Movement,
    MovementRejected,
    ProximityEntered,
    ProximityLeft,
    SpaceJoined,
    StatusChanged,
    StatusSet,
    UserArrived,
    UserDeparted,
    UserEntry,
    UserJoined,
    UserLeft,
    ViewportChanged,
)
from metaverse.core.geometry import Position, Rect
from metaverse.core.grid import Element
from metaverse.core.ids import CallId, UserId
from metaverse.core.maps import SpaceMap
from metaverse.core.snapshot import apply_all
from metaverse.core.space import Space

from .model import PLAYGROUND, SCRIPTED, components, free_crowd_cells, reference_links

ann, bob, cat, dan = (UserId(name) for name in ("ann", "bob", "cat", "dan"))
OPEN = SpaceMap(30, 20)


def _types(events: list[Event]) -> list[str]:
    return [type(event).__name__ for event in events]


def _space(space_map: SpaceMap = OPEN, **config: int) -> Space:
    return Space(space_map, config=SpaceConfig(**config))  # type: ignore[arg-type]


def test_a_map_without_a_free_cell_is_refused() -> None:
    with pytest.raises(ValueError, match="no free cell"):
        Space(SpaceMap(2, 2, elements=(Element(0, 0, 2, 2, static=True),)))


def test_joining_twice_or_with_a_bad_status_is_refused() -> None:
    space = _space()
    space.join(ann)
    with pytest.raises(ValueError, match="already"):
        space.join(ann)
    with pytest.raises(ValueError, match="status"):
        space.join(bob, status="asleep")
    assert len(space) == 1 and ann in space and bob not in space


def test_strangers_raise_key_error() -> None:
    space = _space()
    for command in (
        lambda: space.leave(ann),
        lambda: space.move(ann, 1, 0),
        lambda: space.set_status(ann, "busy"),
        lambda: space.set_viewport(ann, None),
        lambda: space.call_of(ann),
        lambda: space.position(ann),
    ):
        with pytest.raises(KeyError):
            command()


def test_join_spawns_in_the_spawn_area_reproducibly() -> None:
    cells = []
    for _ in range(2):
        space = Space(PLAYGROUND, config=SpaceConfig(spawn_seed="s"))
        for user in (ann, bob, cat):
            space.join(user)
        cells.append([space.position(u) for u in (ann, bob, cat)])
    assert cells[0] == cells[1]
    for cell in cells[0]:
        assert Rect(0, 0, 2, 2).contains(*cell)  # spawn area minus its right column


def test_join_at_a_cell_falls_back_to_spawning_when_it_is_taken_by_a_wall() -> None:
    space = _space(PLAYGROUND)
    space.join(ann, at=Position(5, 5))
    space.join(bob, at=Position(3, 2))
    space.join(cat, at=Position(40, 0))
    assert space.position(ann) == Position(5, 5)
    assert Rect(0, 0, 3, 2).contains(*space.position(bob))
    assert Rect(0, 0, 3, 2).contains(*space.position(cat))


def test_join_events() -> None:
    space = _space()
    space.join(ann, at=Position(0, 0), viewport=Rect(0, 0, 2, 2))
    space.join(bob, at=Position(20, 10), status="busy", text="focus")
    events = space.join(cat, at=Position(1, 1), viewport=Rect(0, 0, 1, 1))
    assert events[:4] == [
        UserArrived(cat, 1, 1, "available", "", True, Rect(0, 0, 1, 1)),
        SpaceJoined(
            (cat,),
            cat,
            1,
            1,
            (
                UserEntry(ann, 0, 0, "available", ""),
                UserEntry(bob, 20, 10, "busy", "focus"),
            ),
            in_view=(ann,),
        ),
        UserJoined((ann, bob), cat, 1, 1, "available", ""),
        InterestEnter((ann,), cat, 1, 1),
    ]
    assert _types(events[4:]) == ["ProximityEntered", "CallStarted", "CallJoined", "CallJoined"]
    assert space.in_view(cat) == (ann,) and space.in_view(bob) == ()


def test_moves_are_single_orthogonal_steps_onto_free_cells() -> None:
    space = _space(PLAYGROUND)
    space.join(ann, at=Position(2, 2))
    for x, y in [(3, 2), (3, 3), (2, 2), (4, 2), (2, 4), (1, 1)]:
        assert space.move(ann, x, y) == [MovementRejected((ann,), 2, 2)]
    assert space.move(ann, 2, 1) == [Movement((ann,), ann, 2, 1)]
    space.join(bob, at=Position(0, 0))
    assert space.move(bob, -1, 0) == [MovementRejected((bob,), 0, 0)]
    # Other users don't block.
    assert space.move(bob, 1, 0)[0] == Movement((ann, bob), bob, 1, 0)
    assert space.position(bob) == Position(1, 0)


def test_movement_goes_to_everyone_without_interest_and_to_watchers() -> None:
    space = _space(interest_margin_tiles=0)
    space.join(ann, at=Position(0, 0))
    space.join(bob, at=Position(10, 0), viewport=Rect(0, 0, 3, 1))
    space.join(cat, at=Position(20, 0), viewport=Rect(18, 0, 5, 1))
    space.join(dan, at=Position(29, 19))
    assert space.move(ann, 1, 0) == [
        Movement((ann, dan), ann, 1, 0),
        Movement((bob,), ann, 1, 0),
    ]
    assert space.move(ann, 2, 0) == [Movement((ann, dan), ann, 2, 0), Movement((bob,), ann, 2, 0)]
    assert space.move(ann, 3, 0) == [Movement((ann, dan), ann, 3, 0), InterestLeave((bob,), ann)]
    assert space.move(cat, 19, 0) == [
        Movement((ann, dan), cat, 19, 0),
        Movement((cat,), cat, 19, 0),
    ]
    assert space.move(ann, 2, 0) == [
        Movement((ann, dan), ann, 2, 0),
        InterestEnter((bob,), ann, 2, 0),
    ]


def test_set_viewport_reports_who_enters_and_leaves() -> None:
    space = _space(interest_margin_tiles=1)
    space.join(ann, at=Position(0, 0))
    space.join(bob, at=Position(5, 5))
    space.join(cat, at=Position(12, 12))
    assert space.set_viewport(ann, Rect(4, 4, 1, 1)) == [
        ViewportChanged((ann,), ann, Rect(4, 4, 1, 1)),
        InterestEnter((ann,), bob, 5, 5),
    ]
    assert space.set_viewport(ann, Rect(11, 11, 1, 1)) == [
        ViewportChanged((ann,), ann, Rect(11, 11, 1, 1)),
        InterestLeave((ann,), bob),
        InterestEnter((ann,), cat, 12, 12),
    ]
    assert space.set_viewport(ann, None) == [
        ViewportChanged((ann,), ann, None),
        InterestEnter((ann,), bob, 5, 5),
    ]
    assert space.set_viewport(ann, None) == [ViewportChanged((ann,), ann, None)]


def test_leave_events() -> None:
    space = _space()
    space.join(ann, at=Position(0, 0), viewport=Rect(0, 0, 1, 1))
    space.join(bob, at=Position(1, 0))
    space.join(cat, at=Position(2, 0))
    events = space.leave(bob)
    assert events == [
        CallLeft((bob,), CallId("call-1")),
        CallPeerLeft((ann, cat), CallId("call-1"), bob),
        ProximityLeft(ann, bob),
        ProximityLeft(bob, cat),
        InterestLeave((ann,), bob),
        UserLeft((ann, cat), bob),
        UserDeparted(bob),
    ]
    # ann and cat were 2 apart: still one call, which ends when ann goes.
    assert _types(space.leave(ann)) == [
        "CallLeft",
        "CallLeft",
        "CallEnded",
        "ProximityLeft",
        "UserLeft",
        "UserDeparted",
    ]
    assert space.leave(cat) == [UserDeparted(cat)]


def test_the_last_user_leaving_tells_nobody() -> None:
    space = _space()
    space.join(ann)
    assert space.leave(ann) == [UserDeparted(ann)]
    assert len(space) == 0


def test_status_goes_to_everyone_and_dnd_leaves_calls_until_it_ends() -> None:
    space = _space()
    space.join(ann, at=Position(0, 0))
    space.join(bob, at=Position(1, 0))
    events = space.set_status(ann, "dnd", "deep work")
    assert events[:2] == [
        StatusChanged((ann, bob), ann, "dnd", "deep work"),
        StatusSet(ann, "dnd", "deep work"),
    ]
    assert _types(events[2:]) == ["CallLeft", "CallLeft", "CallEnded"]
    assert space.call_of(ann) is None and space.status(ann) == ("dnd", "deep work")
    assert _types(space.set_status(ann, "dnd", "deeper")) == ["StatusChanged", "StatusSet"]
    events = space.set_status(ann, "away")
    assert _types(events) == [
        "StatusChanged",
        "StatusSet",
        "CallStarted",
        "CallJoined",
        "CallJoined",
    ]
    with pytest.raises(ValueError, match="status"):
        space.set_status(ann, "gone")


def test_users_without_the_capability_are_never_in_calls_but_are_near() -> None:
    space = _space()
    space.join(ann, at=Position(0, 0), in_calls=False)
    events = space.join(bob, at=Position(1, 0))
    assert ProximityEntered(ann, bob) in events
    assert not any(isinstance(e, CallJoined) for e in events)
    assert space.move(ann, 0, 1)[1:] == []


def test_silent_areas_mute_and_private_areas_gather() -> None:
    space = _space(PLAYGROUND)
    space.join(ann, at=Position(3, 6))
    space.join(bob, at=Position(4, 6))
    assert space.call_of(ann) == space.call_of(bob) is not None
    space.move(ann, 2, 6)  # into the library
    assert space.call_of(ann) is None and space.call_of(bob) is None
    assert space.areas_of(ann) == (PLAYGROUND.areas[3],)
    space.move(ann, 3, 6)
    assert space.call_of(ann) == space.call_of(bob) is not None
    # Far corners of the booth (distance > 2) are in one call; bob next to it isn't.
    space.join(cat, at=Position(7, 0))
    space.join(dan, at=Position(9, 1))
    assert space.call_of(cat) == space.call_of(dan) is not None
    space.leave(bob)
    space.move(ann, 3, 5)
    space.move(ann, 4, 5)
    for x, y in [(5, 5), (5, 4), (6, 4), (6, 3), (6, 2)]:
        space.move(ann, x, y)
    assert space.position(ann) == Position(6, 2)
    assert space.call_of(ann) is None  # next to cat, but cat is inside the booth
    space.move(ann, 7, 2)
    assert space.call_of(ann) == space.call_of(cat)
    assert space.can_signal(ann, dan) and not space.can_signal(ann, ann)
    assert space.call_members(space.call_of(ann) or CallId("")) == (ann, cat, dan)


@settings(SCRIPTED, max_examples=60)
@given(
    st.lists(free_crowd_cells, min_size=2, max_size=8),
    st.randoms(use_true_random=False),
)
def test_without_the_cap_calls_are_the_linked_components_whatever_the_join_order(
    cells: list[Position], rng: random.Random
) -> None:
    users = [UserId(f"u{i}") for i in range(len(cells))]
    order = list(zip(users, cells, strict=True))
    results = []
    for _ in range(3):
        space = Space(PLAYGROUND, config=SpaceConfig(max_call_size=len(cells)))
        for user, cell in order:
            space.join(user, at=cell)
        snap = space.snapshot()
        results.append({frozenset(call.members) for call in snap.calls.values()})
        links = reference_links(PLAYGROUND, snap)
        parts = components(links, links)
        assert results[-1] == {frozenset(part) for part in parts if len(part) > 1}
        rng.shuffle(order)
    assert results[0] == results[1] == results[2]


def test_snapshots_reflect_every_command() -> None:
    space = _space(PLAYGROUND)
    before = space.snapshot()
    events: list[Event] = []
    events += space.join(ann, at=Position(8, 1), viewport=Rect(0, 0, 3, 3))
    events += space.join(bob, at=Position(7, 0))
    events += space.move(bob, 6, 0)
    events += space.set_status(bob, "busy", "hi")
    events += space.set_viewport(ann, None)
    assert apply_all(before, events) == space.snapshot()
    assert space.snapshot().joins == 2


def test_areas_are_reported_in_map_order() -> None:
    space = _space(
        SpaceMap(5, 5, areas=(Area("r", 0, 0, 5, 5, "room"), Area("s", 0, 0, 1, 1, "silent")))
    )
    space.join(ann, at=Position(0, 0))
    assert [a.name for a in space.areas_of(ann)] == ["r", "s"]


def test_users_near_a_cell() -> None:
    space = Space(SpaceMap(20, 20))
    space.join(UserId("a"), at=Position(5, 5))
    space.join(UserId("b"), at=Position(8, 9))
    space.join(UserId("c"), at=Position(15, 5))
    assert sorted(space.users_near(5, 5, 5)) == ["a", "b"]
    assert space.users_near(5, 5, 4.9) == ["a"]
    assert space.users_near(0, 19, 1) == []


def test_a_new_map_blocks_moves_and_gathers_calls_by_its_areas() -> None:
    space = _space()
    space.join(ann, at=Position(3, 3))
    space.join(bob, at=Position(4, 3))
    assert space.call_of(ann) == space.call_of(bob) is not None
    # A wall south of ann and a silent area over bob: bob leaves the call at once.
    walled = SpaceMap(
        30,
        20,
        elements=(Element(3, 4, 1, 1, static=True),),
        areas=(Area("quiet", 4, 3, 2, 2, "silent"),),
    )
    events = space.set_map(walled)
    assert "CallLeft" in _types(events)
    assert space.call_of(ann) is None and space.call_of(bob) is None
    assert space.move(ann, 3, 4) == [MovementRejected((ann,), 3, 3)]
    # The same layout again changes nothing; the old one brings the call back.
    assert space.set_map(walled) == []
    assert "CallJoined" in _types(space.set_map(OPEN))
    assert space.call_of(ann) == space.call_of(bob) is not None


def test_a_new_map_keeps_people_where_they_stand_and_spawns_on_free_cells() -> None:
    space = _space()
    space.join(ann, at=Position(1, 1))
    covered = SpaceMap(30, 20, elements=(Element(0, 0, 2, 2, static=True),))
    assert space.set_map(covered) == []
    assert space.position(ann) == Position(1, 1)
    assert space.move(ann, 1, 0) == [MovementRejected((ann,), 1, 1)]
    space.move(ann, 1, 2)  # stepping off is allowed
    assert space.position(ann) == Position(1, 2)
    space.join(bob, at=Position(0, 0))  # blocked now: spawned elsewhere
    assert space.position(bob) != Position(0, 0)


def test_a_new_map_of_another_size_or_without_a_free_cell_is_refused() -> None:
    space = _space(SpaceMap(2, 2))
    with pytest.raises(ValueError, match="keeps its size"):
        space.set_map(SpaceMap(3, 2))
    with pytest.raises(ValueError, match="no free cell"):
        space.set_map(SpaceMap(2, 2, elements=(Element(0, 0, 2, 2, static=True),)))


def test_welcome_tells_a_returning_user_where_they_stand_and_their_call() -> None:
    space = _space()
    space.join(ann, at=Position(3, 3), viewport=Rect(0, 0, 5, 5))
    space.join(bob, at=Position(4, 3), status="busy", text="hi")
    space.join(cat, at=Position(20, 15))
    before = space.snapshot()
    joined, call = space.welcome(ann)
    assert joined == SpaceJoined(
        (ann,),
        ann,
        3,
        3,
        (UserEntry(bob, 4, 3, "busy", "hi"), UserEntry(cat, 20, 15, "available", "")),
        (bob,),
    )
    call_id = space.call_of(ann)
    assert call == CallJoined((ann,), call_id, (CallPeer(bob, initiator=True),))  # type: ignore[arg-type]
    # Nothing changed, and the events fold into the same snapshot.
    assert space.snapshot() == before == apply_all(before, [joined, call])
    # Outside a call, without a viewport: only where they stand.
    assert space.welcome(cat) == [
        SpaceJoined(
            (cat,),
            cat,
            20,
            15,
            (UserEntry(ann, 3, 3, "available", ""), UserEntry(bob, 4, 3, "busy", "hi")),
            None,
        )
    ]
