"""Folding a command's events over the snapshot before it gives the snapshot after it."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from metaverse.core.config import SpaceConfig
from metaverse.core.events import Event, InterestEnter, Movement
from metaverse.core.geometry import Rect
from metaverse.core.ids import CallId, UserId
from metaverse.core.snapshot import EMPTY, CallState, Snapshot, UserState, apply, apply_all
from metaverse.core.space import Space

from .model import PLAYGROUND, SCRIPTED, Command, configs, run, scripts

ann = UserId("ann")


def test_events_without_state_change_nothing() -> None:
    state = Snapshot({ann: UserState(1, 1, "busy", "", True, None)}, {}, (), 1, 0)
    assert apply(state, InterestEnter((ann,), ann, 3, 3)) == state
    assert apply(state, Movement((ann,), ann, 2, 1)).users[ann].x == 2


def test_json_round_trip() -> None:
    state = Snapshot(
        users={
            ann: UserState(1, 2, "dnd", "away for lunch", False, Rect(0, 0, 4, 3)),
            UserId("bob"): UserState(3, 2, "available", "", True, None),
        },
        calls={CallId("call-3"): CallState((ann, UserId("bob")), 4)},
        near=((ann, UserId("bob")),),
        joins=9,
        calls_started=3,
    )
    assert Snapshot.from_dict(json.loads(json.dumps(state.to_dict()))) == state
    assert Snapshot.from_dict(EMPTY.to_dict()) == EMPTY


@settings(SCRIPTED, max_examples=100)
@given(script=scripts, config=configs)
def test_events_fold_into_the_next_snapshot(script: list[Command], config: SpaceConfig) -> None:
    space = Space(PLAYGROUND, config=config)
    history: list[Event] = []
    for command in script:
        before = space.snapshot()
        events = run(space, command)
        history.extend(events)
        assert apply_all(before, events) == space.snapshot()
    assert apply_all(EMPTY, history) == space.snapshot()
    assert (
        Snapshot.from_dict(json.loads(json.dumps(space.snapshot().to_dict()))) == space.snapshot()
    )


@settings(SCRIPTED, max_examples=100)
@given(script=scripts, config=configs, cut=st.integers(0, 70))
def test_a_rebuilt_space_continues_exactly_like_the_original(
    script: list[Command], config: SpaceConfig, cut: int
) -> None:
    original = Space(PLAYGROUND, config=config)
    for command in script[:cut]:
        run(original, command)
    rebuilt = Space.from_snapshot(PLAYGROUND, original.snapshot(), config=config)
    assert rebuilt.snapshot() == original.snapshot()
    for command in script[cut:]:
        assert run(rebuilt, command) == run(original, command)
        for user in original.snapshot().users:
            assert rebuilt.waiting_for(user) == original.waiting_for(user)
