"""Random command sequences checked against every reference model at once."""

from __future__ import annotations

from hypothesis import given, settings

from metaverse.core.config import SpaceConfig
from metaverse.core.snapshot import Snapshot, apply_all
from metaverse.core.space import Space

from .model import (
    PLAYGROUND,
    SCRIPTED,
    Clients,
    Command,
    check_calls,
    components,
    configs,
    expand,
    expected_near,
    reference_links,
    run,
    scripts,
)


@settings(SCRIPTED, max_examples=200)
@given(script=scripts, config=configs)
def test_everything_agrees(script: list[Command], config: SpaceConfig) -> None:
    space = Space(PLAYGROUND, config=config)
    clients = Clients()
    for command in expand(script):
        before = space.snapshot()
        events = run(space, command)
        after = space.snapshot()
        assert apply_all(before, events) == after
        assert set(after.near) == expected_near(before, after, config)
        clients.feed(events)
        clients.forget_departed(space)
        clients.check(space, PLAYGROUND, config)
        check_calls(space, PLAYGROUND, config)
        check_split_ids(before, after)


def check_split_ids(before: Snapshot, after: Snapshot) -> None:
    """A call that fell apart left its id with its largest part (ties: smallest user id)."""
    links = reference_links(PLAYGROUND, after)
    for call_id, call in before.calls.items():
        parts = components(links, [u for u in call.members if u in links])
        if not parts:
            assert call_id not in after.calls
            continue
        largest = min(parts, key=lambda part: (-len(part), min(part)))
        if call_id in after.calls:
            assert largest <= set(after.calls[call_id].members)
        elif len(largest) > 1:
            # It kept the id, then merged into a call at least as large that kept its own.
            homes = {c for c, state in after.calls.items() if largest & set(state.members)}
            assert len(homes) == 1
            home = set(after.calls[homes.pop()].members)
            assert largest <= home and len(home) >= 2 * len(largest)
