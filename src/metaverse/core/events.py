"""Everything a space emits, in one catalogue.

Two families:

* `Outgoing` events are messages for clients. Each names its `recipients`
  explicitly, so the gateway needs no knowledge of who is in the space; an
  outgoing event always has at least one recipient. Which frame each becomes is
  the gateway's business (`gateway/wire.py`, `protocol/frames.py`).
* `DomainEvent`s are facts for the event log (analytics). They carry no time:
  the gateway timestamps them. `KIND` is their name in the log.

A command returns a list mixing both, in the order they must be sent or
logged. The list is also the space's history: folding it over the snapshot
taken before the command gives the snapshot after it (see `snapshot`).

* join: UserArrived, SpaceJoined, UserJoined, InterestEnter, proximity, calls.
* leave: calls, ProximityLeft, InterestLeave, UserLeft, UserDeparted.
* move: MovementRejected alone; or Movement (and InterestEnter/InterestLeave
  to watchers), ProximityLeft then ProximityEntered, calls.
* set_status: StatusChanged, StatusSet, calls.
* set_viewport: ViewportChanged, InterestLeave, InterestEnter.

"calls" is every CallLeft, CallPeerLeft and CallEnded, then every
CallStarted, CallJoined and CallPeerJoined, then CallFull.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from metaverse.core.geometry import Rect
from metaverse.core.ids import CallId, Status, UserId


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to send to every user in `recipients`."""

    recipients: tuple[UserId, ...]


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """A fact for the event log."""

    KIND: ClassVar[str]


Event = Outgoing | DomainEvent


@dataclass(frozen=True, slots=True)
class UserEntry:
    """One user as `space-joined` lists them."""

    user_id: UserId
    x: int
    y: int
    status: Status
    text: str


@dataclass(frozen=True, slots=True)
class CallPeer:
    """A peer in `call-joined`; `initiator` is true when the recipient makes the offer."""

    user_id: UserId
    initiator: bool


# Outgoing events.


@dataclass(frozen=True, slots=True)
class SpaceJoined(Outgoing):
    """To the joiner: where they stand and everyone else present.

    `in_view` lists the users inside the joiner's area of interest when they
    joined with a viewport, and is None when they get every movement.
    """

    user_id: UserId
    x: int
    y: int
    users: tuple[UserEntry, ...]
    in_view: tuple[UserId, ...] | None


@dataclass(frozen=True, slots=True)
class UserJoined(Outgoing):
    """To everyone else, whatever their viewport."""

    user_id: UserId
    x: int
    y: int
    status: Status
    text: str


@dataclass(frozen=True, slots=True)
class UserLeft(Outgoing):
    """To everyone who stays, whatever their viewport."""

    user_id: UserId


@dataclass(frozen=True, slots=True)
class Movement(Outgoing):
    """To the mover (as acknowledgement) and everyone who watches the new cell."""

    user_id: UserId
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class MovementRejected(Outgoing):
    """To the mover: the move was illegal; (x, y) is where they still stand."""

    x: int
    y: int


@dataclass(frozen=True, slots=True)
class StatusChanged(Outgoing):
    """To everyone, the user included."""

    user_id: UserId
    status: Status
    text: str


@dataclass(frozen=True, slots=True)
class ViewportChanged(Outgoing):
    """To the user: their area of interest is now `viewport` (None: no interest)."""

    user_id: UserId
    viewport: Rect | None


@dataclass(frozen=True, slots=True)
class InterestEnter(Outgoing):
    """To viewers: `user_id` is now inside their area of interest, at (x, y)."""

    user_id: UserId
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class InterestLeave(Outgoing):
    """To viewers: `user_id` is no longer inside their area of interest."""

    user_id: UserId


@dataclass(frozen=True, slots=True)
class CallJoined(Outgoing):
    """To a user entering a call: every other member."""

    call_id: CallId
    peers: tuple[CallPeer, ...]


@dataclass(frozen=True, slots=True)
class CallPeerJoined(Outgoing):
    """To a call's earlier members: `user_id` entered; `initiator` as in `CallPeer`."""

    call_id: CallId
    user_id: UserId
    initiator: bool


@dataclass(frozen=True, slots=True)
class CallPeerLeft(Outgoing):
    """To the members who stay: `user_id` left the call."""

    call_id: CallId
    user_id: UserId


@dataclass(frozen=True, slots=True)
class CallLeft(Outgoing):
    """To a user leaving a call (or whose call ended)."""

    call_id: CallId


@dataclass(frozen=True, slots=True)
class CallFull(Outgoing):
    """To a user in no call whose nearby calls are all full; they join when one has room."""

    call_id: CallId


# Domain events.


@dataclass(frozen=True, slots=True)
class UserArrived(DomainEvent):
    """A user joined the space."""

    KIND = "user-arrived"

    user_id: UserId
    x: int
    y: int
    status: Status
    text: str
    in_calls: bool
    viewport: Rect | None


@dataclass(frozen=True, slots=True)
class UserDeparted(DomainEvent):
    """A user left the space."""

    KIND = "user-departed"

    user_id: UserId


@dataclass(frozen=True, slots=True)
class StatusSet(DomainEvent):
    """A user set their status."""

    KIND = "status-set"

    user_id: UserId
    status: Status
    text: str


@dataclass(frozen=True, slots=True)
class CallStarted(DomainEvent):
    KIND = "call-started"

    call_id: CallId


@dataclass(frozen=True, slots=True)
class CallEnded(DomainEvent):
    """A call ended; `peak_size` is the most members it had at once."""

    KIND = "call-ended"

    call_id: CallId
    peak_size: int


@dataclass(frozen=True, slots=True)
class ProximityEntered(DomainEvent):
    """Two users came near each other (`user_a` < `user_b`)."""

    KIND = "proximity-entered"

    user_a: UserId
    user_b: UserId


@dataclass(frozen=True, slots=True)
class ProximityLeft(DomainEvent):
    """Two users are no longer near (`user_a` < `user_b`)."""

    KIND = "proximity-left"

    user_a: UserId
    user_b: UserId
