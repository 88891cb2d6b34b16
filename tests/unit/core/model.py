"""Reference models and strategies shared by the core's tests.

`Clients` replays outgoing events the way browsers would and checks what they
believe against the space; the `reference_*` and `check_*` functions recompute
by brute force what the core keeps in indexes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from metaverse.core.areas import Area
from metaverse.core.config import SpaceConfig
from metaverse.core.events import (
    CallFull,
    CallJoined,
    CallLeft,
    CallPeerJoined,
    CallPeerLeft,
    Event,
    InterestEnter,
    InterestLeave,
    Movement,
    MovementRejected,
    Outgoing,
    SpaceJoined,
    StatusChanged,
    UserJoined,
    UserLeft,
    ViewportChanged,
)
from metaverse.core.geometry import Position, Rect, distance_sq
from metaverse.core.grid import CollisionGrid, Element
from metaverse.core.ids import CallId, Status, UserId
from metaverse.core.maps import SpaceMap
from metaverse.core.snapshot import Snapshot
from metaverse.core.space import Space

#: Settings for tests that run whole command scripts: slow to draw, slow to run.
SCRIPTED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

USERS = tuple(UserId(name) for name in ("ann", "bob", "cat", "dan", "eve", "fay", "gus", "hal"))

#: A 12 x 9 map with walls and an area of each kind; two private areas overlap at (9, 2).
#:
#:   spawn "entrance" (0..2, 0..1)      private "booth" (7..9, 0..2)
#:   private "nook" (9..10, 2..3)       silent "library" (0..2, 6..8)
#:   room "hall" (3..11, 4..8)          walls (3..4, 2..3) and (6, 5..6)
PLAYGROUND = SpaceMap(
    width=12,
    height=9,
    elements=(
        Element(3, 2, 2, 2, static=True),
        Element(6, 5, 1, 2, static=True),
        Element(0, 4, 2, 1, static=False),
    ),
    areas=(
        Area("entrance", 0, 0, 3, 2, "spawn"),
        Area("booth", 7, 0, 3, 3, "private"),
        Area("nook", 9, 2, 2, 2, "private"),
        Area("library", 0, 6, 3, 3, "silent"),
        Area("hall", 3, 4, 9, 5, "room"),
    ),
)

#: Legal orthogonal steps, weighted, plus a few illegal ones.
STEPS = ((1, 0), (-1, 0), (0, 1), (0, -1)) * 3 + ((1, 1), (0, 0), (2, 0))


@dataclass(frozen=True)
class Join:
    user: UserId
    in_calls: bool = True
    at: Position | None = None
    viewport: Rect | None = None
    status: str = "available"


@dataclass(frozen=True)
class Leave:
    user: UserId


@dataclass(frozen=True)
class Step:
    user: UserId
    dx: int
    dy: int


@dataclass(frozen=True)
class Walk:
    """Several steps in one direction, checked as one command."""

    user: UserId
    dx: int
    dy: int
    steps: int


@dataclass(frozen=True)
class SetStatus:
    user: UserId
    status: str


@dataclass(frozen=True)
class SetViewport:
    user: UserId
    viewport: Rect | None


Command = Join | Leave | Step | Walk | SetStatus | SetViewport


def run(space: Space, command: Command) -> list[Event]:
    """Apply `command`, adapted to who is present (a join of someone present leaves)."""
    if isinstance(command, Join):
        if command.user in space:
            return space.leave(command.user)
        return space.join(
            command.user,
            in_calls=command.in_calls,
            at=command.at,
            viewport=command.viewport,
            status=command.status,
        )
    if command.user not in space:
        return []
    if isinstance(command, Leave):
        return space.leave(command.user)
    if isinstance(command, Step):
        x, y = space.position(command.user)
        return space.move(command.user, x + command.dx, y + command.dy)
    if isinstance(command, Walk):
        events: list[Event] = []
        for _ in range(command.steps):
            x, y = space.position(command.user)
            events += space.move(command.user, x + command.dx, y + command.dy)
        return events
    if isinstance(command, SetStatus):
        return space.set_status(command.user, command.status)
    return space.set_viewport(command.user, command.viewport)


def expand(script: Iterable[Command]) -> list[Command]:
    """The script with walks broken into their steps, for checks after every move."""
    return [
        part
        for command in script
        for part in (
            [Step(command.user, command.dx, command.dy)] * command.steps
            if isinstance(command, Walk)
            else [command]
        )
    ]


users = st.sampled_from(USERS)
cells = st.builds(Position, st.integers(0, 11), st.integers(0, 8))
#: Where crowds gather: around both private areas, so links, caps and areas all matter.
crowd_cells = st.builds(Position, st.integers(5, 10), st.integers(0, 6))
_grid = CollisionGrid(PLAYGROUND.width, PLAYGROUND.height, PLAYGROUND.elements)
free_crowd_cells = crowd_cells.filter(lambda cell: _grid.is_free(*cell))
viewports = st.builds(
    Rect, st.integers(-3, 11), st.integers(-3, 8), st.integers(0, 6), st.integers(0, 5)
)
steps = st.builds(lambda user, step: Step(user, *step), users, st.sampled_from(STEPS))
joins = st.builds(
    Join,
    users,
    in_calls=st.sampled_from((True, True, True, False)),
    at=st.one_of(st.none(), cells),
    viewport=st.one_of(st.none(), st.none(), viewports),
    status=st.sampled_from(("available", "available", "busy", "dnd")),
)
_by_kind: dict[str, st.SearchStrategy[Command]] = {
    "join": joins,
    "leave": st.builds(Leave, users),
    "step": steps,
    "walk": st.builds(
        lambda user, step, n: Walk(user, step[0], step[1], n),
        users,
        st.sampled_from(STEPS[:4]),
        st.integers(2, 5),
    ),
    "status": st.builds(SetStatus, users, st.sampled_from(("available", "busy", "away", "dnd"))),
    "viewport": st.builds(SetViewport, users, st.one_of(st.none(), viewports)),
}
#: Mostly steps, since that is what a space mostly sees.
commands: st.SearchStrategy[Command] = st.sampled_from(
    ("step",) * 4 + ("walk",) * 3 + ("join", "leave", "status", "viewport")
).flatmap(lambda kind: _by_kind[kind])
#: A crowd joining at chosen cells, then anything.
scripts = st.tuples(
    st.lists(
        st.builds(
            Join,
            users,
            in_calls=st.sampled_from((True, True, True, False)),
            at=crowd_cells,
            viewport=st.one_of(st.none(), viewports),
        ),
        min_size=3,
        max_size=8,
        unique_by=lambda join: join.user,
    ),
    st.lists(commands, min_size=5, max_size=60),
).map(lambda parts: [*parts[0], *parts[1]])
configs = st.builds(
    SpaceConfig,
    max_call_size=st.sampled_from((2, 3, 6)),
    proximity_radius_tiles=st.sampled_from((1.0, 2.0)),
    proximity_leave_radius_tiles=st.sampled_from((2.0, 3.0)),
)


# Brute-force references.


def call_rules(areas: Sequence[Area], cell: tuple[int, int]) -> tuple[int | None, bool]:
    """(first private area index, silent) at `cell`, by scanning every area."""
    covering = [(i, a) for i, a in enumerate(areas) if a.rect.contains(*cell)]
    private = next((i for i, a in covering if a.kind == "private"), None)
    return private, any(a.kind == "silent" for _, a in covering)


def reference_links(space_map: SpaceMap, snap: Snapshot) -> dict[UserId, set[UserId]]:
    """Every eligible user and who they are linked to."""
    area_of: dict[UserId, int | None] = {}
    for user, state in snap.users.items():
        private, silent = call_rules(space_map.areas, (state.x, state.y))
        if state.in_calls and state.status != "dnd" and not silent:
            area_of[user] = private
    near = set(snap.near)
    links: dict[UserId, set[UserId]] = {user: set() for user in area_of}
    for a, b in combinations(sorted(area_of), 2):
        pa, pb = area_of[a], area_of[b]
        if (pa is not None and pa == pb) or (pa is None and pb is None and (a, b) in near):
            links[a].add(b)
            links[b].add(a)
    return links


def components(links: Mapping[UserId, set[UserId]], within: Iterable[UserId]) -> list[set[UserId]]:
    """Connected parts of the users `within`, using only links among them."""
    pool = set(within)
    parts: list[set[UserId]] = []
    while pool:
        start = min(pool)
        part, stack = {start}, [start]
        while stack:
            for other in links[stack.pop()] & pool:
                if other not in part:
                    part.add(other)
                    stack.append(other)
        pool -= part
        parts.append(part)
    return parts


def expected_near(before: Snapshot, after: Snapshot, config: SpaceConfig) -> set[tuple[str, str]]:
    """The near pairs after a command, by the hysteresis rule over every pair."""
    enter = config.proximity_radius_tiles**2
    leave = config.proximity_leave_radius_tiles**2
    was = set(before.near)
    near: set[tuple[str, str]] = set()
    for a, b in combinations(sorted(after.users), 2):
        sa, sb = after.users[a], after.users[b]
        d2 = distance_sq(Position(sa.x, sa.y), Position(sb.x, sb.y))
        if d2 <= enter or ((a, b) in was and d2 <= leave):
            near.add((a, b))
    return near


def region_of(space_map: SpaceMap, viewport: Rect, config: SpaceConfig) -> Rect:
    return viewport.expand(config.interest_margin_tiles).clip(space_map.width, space_map.height)


def check_calls(space: Space, space_map: SpaceMap, config: SpaceConfig) -> None:
    """Every call rule of `proximity`'s docstring holds for the settled space."""
    snap = space.snapshot()
    cap = config.max_call_size
    links = reference_links(space_map, snap)
    call_of = {user: call_id for call_id, c in snap.calls.items() for user in c.members}
    for call_id, call in snap.calls.items():
        assert 2 <= len(call.members) <= cap
        assert call.peak_size >= len(call.members)
        assert all(user in links for user in call.members), "ineligible member"
        assert len(components(links, call.members)) == 1, f"{call_id} not connected"
    for user in snap.users:
        assert space.call_of(user) == call_of.get(user)
        if user not in links or user in call_of:
            assert space.waiting_for(user) is None
            continue
        linked_calls = {call_of[v] for v in links[user] if v in call_of}
        assert all(len(snap.calls[c].members) == cap for c in linked_calls), "room left"
        assert all(v in call_of for v in links[user]), "two linked users in no call"
        assert space.waiting_for(user) == min(linked_calls, default=None)
    for a, b in combinations(sorted(call_of), 2):
        ca, cb = call_of[a], call_of[b]
        if ca != cb and b in links[a]:
            assert len(snap.calls[ca].members) + len(snap.calls[cb].members) > cap
    for a, b in combinations(sorted(snap.users), 2):
        assert space.can_signal(a, b) == (a in call_of and call_of.get(a) == call_of.get(b))
        assert space.can_signal(a, b) == space.can_signal(b, a)


# What clients believe.


@dataclass
class Client:
    user: UserId
    positions: dict[UserId, Position]
    visible: set[UserId] | None
    statuses: dict[UserId, Status] = field(default_factory=dict)
    call: CallId | None = None
    peers: dict[UserId, bool] = field(default_factory=dict)
    full: CallId | None = None


class Clients:
    """Browsers replaying their events; `check` compares their beliefs with the space."""

    def __init__(self) -> None:
        self.clients: dict[UserId, Client] = {}

    def feed(self, events: Iterable[Event]) -> None:
        for event in events:
            if isinstance(event, Outgoing):
                assert event.recipients, f"{event} has no recipient"
                assert len(set(event.recipients)) == len(event.recipients)
                for user in event.recipients:
                    self._deliver(user, event)

    def _deliver(self, user: UserId, event: Outgoing) -> None:
        if isinstance(event, SpaceJoined):
            assert user not in self.clients
            positions = {e.user_id: Position(e.x, e.y) for e in event.users}
            positions[user] = Position(event.x, event.y)
            visible = None if event.in_view is None else set(event.in_view)
            statuses = {e.user_id: e.status for e in event.users}
            self.clients[user] = Client(user, positions, visible, statuses)
            return
        me = self.clients[user]
        match event:
            case UserJoined(user_id=other, x=x, y=y, status=status):
                me.positions[other] = Position(x, y)
                me.statuses[other] = status
            case UserLeft(user_id=other):
                del me.positions[other]
                me.statuses.pop(other, None)
                if me.visible is not None:
                    me.visible.discard(other)
            case Movement(user_id=other, x=x, y=y):
                assert me.visible is None or other == user or other in me.visible
                me.positions[other] = Position(x, y)
            case MovementRejected(x=x, y=y):
                assert me.positions[user] == Position(x, y)
            case InterestEnter(user_id=other, x=x, y=y):
                assert me.visible is not None or event.recipients == (user,)
                if me.visible is not None:
                    assert other not in me.visible
                    me.visible.add(other)
                me.positions[other] = Position(x, y)
            case InterestLeave(user_id=other):
                assert me.visible is not None
                me.visible.remove(other)
            case ViewportChanged(viewport=viewport):
                if viewport is None:
                    me.visible = None
                elif me.visible is None:
                    me.visible = set()
            case StatusChanged(user_id=other, status=status):
                me.statuses[other] = status
            case CallJoined(call_id=call_id, peers=peers):
                assert me.call is None
                me.call = call_id
                me.peers = {p.user_id: p.initiator for p in peers}
            case CallPeerJoined(call_id=call_id, user_id=other, initiator=initiator):
                assert me.call == call_id and other not in me.peers
                me.peers[other] = initiator
            case CallPeerLeft(call_id=call_id, user_id=other):
                assert me.call == call_id
                del me.peers[other]
            case CallLeft(call_id=call_id):
                assert me.call == call_id
                me.call, me.peers = None, {}
            case CallFull(call_id=call_id):
                assert me.call is None
                me.full = call_id

    def forget_departed(self, space: Space) -> None:
        for user in [u for u in self.clients if u not in space]:
            assert self.clients[user].call is None
            del self.clients[user]

    def check(self, space: Space, space_map: SpaceMap, config: SpaceConfig) -> None:
        snap = space.snapshot()
        assert set(self.clients) == set(snap.users)
        for user, me in self.clients.items():
            assert set(me.positions) == set(snap.users)
            others = {u: s.status for u, s in snap.users.items() if u != user}
            assert {u: s for u, s in me.statuses.items() if u != user} == others
            viewport = snap.users[user].viewport
            if viewport is None:
                assert me.visible is None
                seen: Iterable[UserId] = snap.users
            else:
                region = region_of(space_map, viewport, config)
                expected = {
                    u for u, s in snap.users.items() if u != user and region.contains(s.x, s.y)
                }
                assert me.visible == expected
                assert set(space.in_view(user)) == expected
                seen = [*expected, user]
            for other in seen:
                state = snap.users[other]
                assert me.positions[other] == Position(state.x, state.y)
            assert me.call == space.call_of(user)
            members = set() if me.call is None else set(space.call_members(me.call))
            assert set(me.peers) == members - {user}
            for peer, initiator in me.peers.items():
                assert self.clients[peer].peers[user] is not initiator, "one initiator per pair"
            waiting = space.waiting_for(user)
            if waiting is not None:
                assert me.full == waiting
