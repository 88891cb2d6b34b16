"""The state of a space as a plain value, and the reducer that folds events into it.

`Space.snapshot()` gives a `Snapshot`; `Space.from_snapshot` rebuilds a space
from one. For every command, folding the events it returned over the snapshot
taken before it gives the snapshot taken after it:

    apply_all(space.snapshot(), space.move(user, x, y)) == space.snapshot()

so a replica that receives the events can keep its snapshot current. The
events that carry state are `UserArrived`, `UserDeparted`, `Movement`,
`StatusSet`, `ViewportChanged`, `ProximityEntered`, `ProximityLeft`,
`CallStarted`, `CallJoined`, `CallLeft` and `CallEnded`; the rest are ignored.
Who waits outside a full call is not stored: it follows from the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from metaverse.core.events import (
    CallEnded,
    CallJoined,
    CallLeft,
    CallStarted,
    Event,
    Movement,
    ProximityEntered,
    ProximityLeft,
    StatusSet,
    UserArrived,
    UserDeparted,
    ViewportChanged,
)
from metaverse.core.geometry import Rect
from metaverse.core.ids import CallId, Status, UserId, check_status


@dataclass(frozen=True, slots=True)
class UserState:
    x: int
    y: int
    status: Status
    text: str
    in_calls: bool
    viewport: Rect | None


@dataclass(frozen=True, slots=True)
class CallState:
    members: tuple[UserId, ...]
    """Sorted."""
    peak_size: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything that changes in a space; the map and the config are kept apart."""

    users: Mapping[UserId, UserState]
    """In the order they joined, which fixes the order of broadcast recipients."""
    calls: Mapping[CallId, CallState]
    near: tuple[tuple[UserId, UserId], ...]
    """Sorted pairs, each in user-id order."""
    joins: int
    """Joins so far; the next join's spawn is drawn with this count."""
    calls_started: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "users": [
                {
                    "id": user_id,
                    "x": user.x,
                    "y": user.y,
                    "status": user.status,
                    "text": user.text,
                    "in_calls": user.in_calls,
                    "viewport": None if user.viewport is None else _rect_list(user.viewport),
                }
                for user_id, user in self.users.items()
            ],
            "calls": [
                {"id": call_id, "members": list(call.members), "peak_size": call.peak_size}
                for call_id, call in self.calls.items()
            ],
            "near": [list(p) for p in self.near],
            "joins": self.joins,
            "calls_started": self.calls_started,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        """Read what `to_dict` wrote (after a JSON round trip)."""
        users = {
            UserId(u["id"]): UserState(
                x=u["x"],
                y=u["y"],
                status=check_status(u["status"]),
                text=u["text"],
                in_calls=u["in_calls"],
                viewport=None if u["viewport"] is None else Rect(*u["viewport"]),
            )
            for u in data["users"]
        }
        calls = {
            CallId(c["id"]): CallState(tuple(map(UserId, c["members"])), c["peak_size"])
            for c in data["calls"]
        }
        near = tuple((UserId(a), UserId(b)) for a, b in data["near"])
        return cls(users, calls, near, data["joins"], data["calls_started"])


EMPTY = Snapshot(users={}, calls={}, near=(), joins=0, calls_started=0)


def _rect_list(rect: Rect) -> list[int]:
    return [rect.x, rect.y, rect.width, rect.height]


def apply(snapshot: Snapshot, event: Event) -> Snapshot:
    """The snapshot after `event`."""
    return apply_all(snapshot, (event,))


def apply_all(snapshot: Snapshot, events: Iterable[Event]) -> Snapshot:
    """The snapshot after `events`, in order."""
    users = dict(snapshot.users)
    calls = {
        call_id: (set(call.members), call.peak_size) for call_id, call in snapshot.calls.items()
    }
    near = set(snapshot.near)
    joins, started = snapshot.joins, snapshot.calls_started
    for event in events:
        match event:
            case UserArrived(user_id, x, y, status, text, in_calls, viewport):
                users[user_id] = UserState(x, y, status, text, in_calls, viewport)
                joins += 1
            case UserDeparted(user_id):
                del users[user_id]
            case Movement(user_id=user_id, x=x, y=y):
                users[user_id] = replace(users[user_id], x=x, y=y)
            case StatusSet(user_id, status, text):
                users[user_id] = replace(users[user_id], status=status, text=text)
            case ViewportChanged(user_id=user_id, viewport=viewport):
                users[user_id] = replace(users[user_id], viewport=viewport)
            case ProximityEntered(a, b):
                near.add((a, b))
            case ProximityLeft(a, b):
                near.discard((a, b))
            case CallStarted(call_id):
                calls[call_id] = (set(), 0)
                started += 1
            case CallJoined(recipients=(user_id,), call_id=call_id):
                members, peak = calls[call_id]
                members.add(user_id)
                calls[call_id] = (members, max(peak, len(members)))
            case CallLeft(recipients=(user_id,), call_id=call_id):
                calls[call_id][0].discard(user_id)
            case CallEnded(call_id):
                del calls[call_id]
    return Snapshot(
        users=users,
        calls={
            call_id: CallState(tuple(sorted(members)), peak)
            for call_id, (members, peak) in sorted(calls.items())
        },
        near=tuple(sorted(near)),
        joins=joins,
        calls_started=started,
    )
