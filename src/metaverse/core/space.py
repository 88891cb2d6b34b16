"""A space as a pure state machine: commands in, events out.

`Space` is the facade of the core. Each command (`join`, `leave`, `move`,
`set_status`, `set_viewport`, `set_map`) takes plain values and returns the events it
caused, in the order they must be sent; queries (`can_signal`, `position`,
`call_of`, …) change nothing. No method awaits, reads a clock or touches I/O.
Unknown users raise `KeyError`; malformed arguments raise `ValueError`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Final

from metaverse.core.areas import Area, AreaIndex
from metaverse.core.audience import Audience
from metaverse.core.calls import CallBook, default_call_ids
from metaverse.core.config import SpaceConfig
from metaverse.core.events import (
    CallJoined,
    CallPeer,
    Event,
    InterestEnter,
    InterestLeave,
    MovementRejected,
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
from metaverse.core.grid import CollisionGrid
from metaverse.core.ids import CallId, Status, UserId, check_status
from metaverse.core.interest import Interest
from metaverse.core.maps import SpaceMap
from metaverse.core.presence import Presence, can_call
from metaverse.core.proximity import Proximity, pair_events
from metaverse.core.snapshot import CallState, Snapshot, UserState
from metaverse.core.spatial import SpatialHash
from metaverse.core.spawn import SpawnPicker

DEFAULT_CONFIG: Final = SpaceConfig()


class Space:
    """One hosted space: positions, presence, proximity calls and areas of interest."""

    def __init__(
        self,
        space_map: SpaceMap,
        *,
        config: SpaceConfig = DEFAULT_CONFIG,
        call_ids: Callable[[int], CallId] = default_call_ids,
    ) -> None:
        """`call_ids(n)` names the n-th call the space starts; it must never repeat itself."""
        self._config = config
        self._grid = CollisionGrid(space_map.width, space_map.height, space_map.elements)
        if not self._grid.has_free_cell():
            raise ValueError("the map has no free cell to stand on")
        self._areas = AreaIndex(space_map.areas, space_map.width, space_map.height)
        self._spawn = SpawnPicker(self._grid, self._areas.spawn_rects())
        self._positions = SpatialHash(config.hash_cell_tiles)
        self._proximity = Proximity(
            self._positions, config.proximity_radius_tiles, config.proximity_leave_radius_tiles
        )
        self._interest = Interest(
            self._positions, space_map.width, space_map.height, config.interest_margin_tiles
        )
        self._calls = CallBook(config.max_call_size, call_ids)
        self._audience = Audience(self._interest)
        self._users: dict[UserId, Presence] = {}
        # Each user's `space-joined` entry, in join order; None once they moved or changed
        # status, until the next join lists them again. A join then costs a look at each
        # entry, not building every one of them again.
        self._entries: dict[UserId, UserEntry | None] = {}
        self._joins = 0

    @classmethod
    def from_snapshot(
        cls,
        space_map: SpaceMap,
        snapshot: Snapshot,
        *,
        config: SpaceConfig = DEFAULT_CONFIG,
        call_ids: Callable[[int], CallId] = default_call_ids,
    ) -> Space:
        """Rebuild the space a snapshot was taken of (same map and config)."""
        space = cls(space_map, config=config, call_ids=call_ids)
        for user_id, user in snapshot.users.items():
            space._users[user_id] = Presence(user.status, user.text, user.in_calls)
            space._entries[user_id] = None
            space._audience.add(user_id)
            space._positions.add(user_id, Position(user.x, user.y))
            space._proximity.restore(user_id)
            space._interest.set(user_id, user.viewport)
        for a, b in snapshot.near:
            space._proximity.link(a, b)
        for user_id in space._users:
            space._refresh_profile(user_id)
        for call_id, call in snapshot.calls.items():
            space._calls.restore(call_id, call.members, call.peak_size)
        space._calls.started = snapshot.calls_started
        space._calls.refresh_waiting(space._proximity, space._users)
        space._joins = snapshot.joins
        return space

    # Queries.

    def __len__(self) -> int:
        return len(self._users)

    def __contains__(self, user: object) -> bool:
        return user in self._users

    def position(self, user: UserId) -> Position:
        return self._positions.position(user)

    def status(self, user: UserId) -> tuple[Status, str]:
        presence = self._users[user]
        return presence.status, presence.text

    def areas_of(self, user: UserId) -> tuple[Area, ...]:
        """The areas `user` is in, in map order."""
        return self._areas.at(self._positions.position(user))

    def call_of(self, user: UserId) -> CallId | None:
        self._check(user)
        return self._calls.call_of(user)

    def call_members(self, call_id: CallId) -> tuple[UserId, ...]:
        return self._calls.members(call_id)

    def waiting_for(self, user: UserId) -> CallId | None:
        """The full call `user` was told about with `call-full`, while they still wait."""
        return self._calls.waiting_for(user)

    def in_view(self, user: UserId) -> tuple[UserId, ...]:
        """Who is in `user`'s area of interest (empty without a viewport), sorted."""
        return tuple(self._interest.in_view(user))

    def users_near(self, x: int, y: int, radius_tiles: float) -> list[UserId]:
        """Users within `radius_tiles` (Euclidean, inclusive) of (x, y), in no fixed order."""
        return self._positions.near(Position(x, y), radius_tiles)

    def can_signal(self, sender: UserId, recipient: UserId) -> bool:
        """Whether `sender` may send WebRTC signaling to `recipient`: both in one call now."""
        call_id = self._calls.call_of(sender)
        together = call_id is not None and call_id == self._calls.call_of(recipient)
        return together and sender != recipient

    def welcome(self, user: UserId) -> list[Event]:
        """What `user` is told on a new connection while they stay in the space (their
        gateway restarted and they came back through another): `SpaceJoined` where they
        stand, with everyone else, and `CallJoined` for their call, in which they make the
        offers. Changes nothing."""
        cell = self._positions.position(user)
        entries = tuple(entry for entry in self._listed() if entry.user_id != user)
        in_view = None if self._interest.viewport(user) is None else self.in_view(user)
        events: list[Event] = [SpaceJoined((user,), user, cell.x, cell.y, entries, in_view)]
        call_id = self._calls.call_of(user)
        if call_id is not None:
            peers = tuple(
                CallPeer(peer, initiator=True)
                for peer in self._calls.members(call_id)
                if peer != user
            )
            events.append(CallJoined((user,), call_id, peers))
        return events

    def snapshot(self) -> Snapshot:
        users = {
            user_id: UserState(
                *self._positions.position(user_id),
                presence.status,
                presence.text,
                presence.in_calls,
                self._interest.viewport(user_id),
            )
            for user_id, presence in self._users.items()
        }
        calls = {
            call_id: CallState(tuple(sorted(members)), peak)
            for call_id, members, peak in self._calls.calls()
        }
        near = tuple(self._proximity.pairs())
        return Snapshot(users, calls, near, self._joins, self._calls.started)

    # Commands.

    def join(
        self,
        user: UserId,
        *,
        status: str = "available",
        text: str = "",
        in_calls: bool = True,
        viewport: Rect | None = None,
        at: Position | None = None,
    ) -> list[Event]:
        """Place `user` in the space.

        They appear on `at` if it is given, inside the space and free, and on
        a spawn cell otherwise (see `spawn`). `in_calls=False` is for clients
        without the proximity capability: such users are never in a call. With
        a `viewport` they start with an area of interest.
        """
        if user in self._users:
            raise ValueError(f"{user} is already in the space")
        checked = check_status(status)
        self._joins += 1
        if at is not None and self._grid.is_free(at.x, at.y):
            cell = Position(at.x, at.y)
        else:
            # Seeded per join so a space rebuilt from a snapshot spawns the same way.
            rng = random.Random(f"{self._config.spawn_seed}:{self._joins}")  # noqa: S311
            cell = self._spawn.pick(rng)
        others = self._audience.everyone()
        entries = self._listed()
        self._users[user] = Presence(checked, text, in_calls)
        self._entries[user] = None
        self._audience.add(user)
        self._positions.add(user, cell)
        self._interest.set(user, viewport)
        entered = self._proximity.add(user)
        in_view = None if viewport is None else self.in_view(user)
        events: list[Event] = [
            UserArrived(user, cell.x, cell.y, checked, text, in_calls, viewport),
            SpaceJoined((user,), user, cell.x, cell.y, entries, in_view),
        ]
        if others:
            events.append(UserJoined(others, user, cell.x, cell.y, checked, text))
        watchers = self._interest.watchers(cell, besides=user)
        if watchers:
            events.append(InterestEnter(tuple(watchers), user, cell.x, cell.y))
        events.extend(pair_events(entered, ()))
        touched = self._refresh_profile(user)
        if touched:
            events.extend(self._calls.settle(self._proximity, touched, lost=False))
        return events

    def leave(self, user: UserId) -> list[Event]:
        """Take `user` out of the space (their calls and interest included)."""
        self._check(user)
        cell = self._positions.position(user)
        left, touched = self._proximity.remove(user)
        self._interest.set(user, None)
        events: list[Event] = []
        if touched:
            events.extend(self._calls.settle(self._proximity, touched))
        events.extend(pair_events((), left))
        watchers = self._interest.watchers(cell, besides=user)
        if watchers:
            events.append(InterestLeave(tuple(watchers), user))
        self._positions.remove(user)
        del self._users[user]
        del self._entries[user]
        self._audience.remove(user)
        others = self._audience.everyone()
        if others:
            events.append(UserLeft(others, user))
        events.append(UserDeparted(user))
        return events

    def move(self, user: UserId, x: int, y: int) -> list[Event]:
        """Step `user` to (x, y): one cell up, down, left or right onto a free cell."""
        start = self._positions.position(user)
        sx, sy = start
        if (x - sx) * (x - sx) + (y - sy) * (y - sy) != 1 or not self._grid.is_free(x, y):
            return [MovementRejected((user,), sx, sy)]
        end = Position(x, y)
        self._positions.move(user, end)
        self._entries[user] = None
        presence = self._users[user]
        rules = self._areas.call_rules_at(end)
        change = self._proximity.moved(
            user, start, eligible=can_call(presence, rules), private=rules.private
        )
        events = self._audience.movement(user, start, end)
        if change.entered or change.left:
            events.extend(pair_events(change.entered, change.left))
        if change.touched:
            events.extend(self._calls.settle(self._proximity, change.touched, lost=change.lost))
        return events

    def set_status(self, user: UserId, status: str, text: str = "") -> list[Event]:
        """Set `user`'s presence; `dnd` takes them out of calls until they leave it."""
        presence = self._users[user]
        presence.status = check_status(status)
        presence.text = text
        self._entries[user] = None
        events: list[Event] = [
            StatusChanged(self._audience.everyone(), user, presence.status, text),
            StatusSet(user, presence.status, text),
        ]
        touched = self._refresh_profile(user)
        if touched:
            lost = len(touched) > 1
            events.extend(self._calls.settle(self._proximity, touched, lost=lost))
        return events

    def set_viewport(self, user: UserId, viewport: Rect | None) -> list[Event]:
        """Set `user`'s area of interest, or clear it (None) to get every movement."""
        self._check(user)
        old, new = self._interest.set(user, viewport)
        if (old is None) != (new is None):
            self._audience.interest_toggled()
        entering, leaving = self._interest.changes(user, old, new)
        events: list[Event] = [ViewportChanged((user,), user, viewport)]
        events.extend(InterestLeave((user,), other) for other in leaving)
        for other in entering:
            cell = self._positions.position(other)
            events.append(InterestEnter((user,), other, cell.x, cell.y))
        return events

    def set_map(self, space_map: SpaceMap) -> list[Event]:
        """Take a changed layout (elements or areas placed or removed while the space is
        hosted): moves and spawns are checked against it from now on, and everyone's call
        rules are derived again from its areas. Returns the call events that follow.

        The size can't change. People standing where an element now blocks stay put and may
        step off; nobody is moved by the server.
        """
        if (space_map.width, space_map.height) != (self._grid.width, self._grid.height):
            raise ValueError("a hosted space keeps its size")
        grid = CollisionGrid(space_map.width, space_map.height, space_map.elements)
        if not grid.has_free_cell():
            raise ValueError("the map has no free cell to stand on")
        self._grid = grid
        self._areas = AreaIndex(space_map.areas, space_map.width, space_map.height)
        self._spawn = SpawnPicker(grid, self._areas.spawn_rects())
        touched: set[UserId] = set()
        for user in self._users:
            touched.update(self._refresh_profile(user))
        if not touched:
            return []
        return self._calls.settle(self._proximity, sorted(touched))

    # Helpers.

    def _listed(self) -> tuple[UserEntry, ...]:
        """Everyone's `space-joined` entry, in join order."""
        entries = self._entries
        for user, entry in entries.items():
            if entry is None:
                presence = self._users[user]
                x, y = self._positions.position(user)
                entries[user] = UserEntry(user, x, y, presence.status, presence.text)
        return tuple(entries.values())  # type: ignore[arg-type]  # none is None now

    def _check(self, user: UserId) -> None:
        if user not in self._users:
            raise KeyError(user)

    def _refresh_profile(self, user: UserId) -> list[UserId]:
        """Re-derive whether `user` can be in calls; return who to settle (see `proximity`)."""
        presence = self._users[user]
        rules = self._areas.call_rules_at(self._positions.position(user))
        eligible = can_call(presence, rules)
        return self._proximity.set_profile(user, eligible=eligible, private=rules.private)
