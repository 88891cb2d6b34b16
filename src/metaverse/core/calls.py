"""Call membership: settling calls over the call graph, and the events that tell members.

The rules (linking, the cap, merges, splits, ids, initiators) are written out
in the docstring of `metaverse.core.proximity`; this module carries them out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from metaverse.core.events import (
    CallEnded,
    CallFull,
    CallJoined,
    CallLeft,
    CallPeer,
    CallPeerJoined,
    CallPeerLeft,
    CallStarted,
    Event,
)
from metaverse.core.ids import CallId, UserId
from metaverse.core.settle import Group, Links, Settlement


def default_call_ids(number: int) -> CallId:
    """`call-1`, `call-2`, …: unique within a space, which is all signaling needs."""
    return CallId(f"call-{number}")


class CallBook:
    """The calls of one space and the users waiting outside full ones."""

    __slots__ = ("_call_ids", "_group_of", "_groups", "_max_size", "_waiting", "started")

    def __init__(
        self, max_size: int, call_ids: Callable[[int], CallId] = default_call_ids, started: int = 0
    ) -> None:
        self._max_size = max_size
        self._call_ids = call_ids
        #: How many calls the space has started; the next id is `call_ids(started + 1)`.
        self.started = started
        self._groups: dict[CallId, Group] = {}
        self._group_of: dict[UserId, Group] = {}
        # Derived from the rest (rebuilt by `refresh_waiting`), kept to send call-full once.
        self._waiting: dict[UserId, CallId] = {}

    def call_of(self, user: UserId) -> CallId | None:
        group = self._group_of.get(user)
        return None if group is None else group.call_id

    def members(self, call_id: CallId) -> tuple[UserId, ...]:
        """The members of a live call, sorted; `KeyError` for an unknown call."""
        return tuple(sorted(self._groups[call_id].members))

    def calls(self) -> Iterator[tuple[CallId, frozenset[UserId], int]]:
        """Every live call as (id, members, peak size), by id."""
        for call_id in sorted(self._groups):
            group = self._groups[call_id]
            yield call_id, frozenset(group.members), group.peak

    def restore(self, call_id: CallId, members: Iterable[UserId], peak: int) -> None:
        """Re-create a call recorded in a snapshot."""
        group = Group(call_id, set(members), peak)
        self._groups[call_id] = group
        for user in group.members:
            self._group_of[user] = group

    def waiting_for(self, user: UserId) -> CallId | None:
        """The full call `user` waits to join, if they do."""
        return self._waiting.get(user)

    def settle(self, graph: Links, touched: Sequence[UserId], *, lost: bool = True) -> list[Event]:
        """Re-establish the call rules after `touched` users' links or eligibility changed.

        `touched` must name every user who gained or lost a link or eligibility
        (both ends of a lost link included); `lost=False` promises that links
        were only gained, so no call can have fallen apart. Returns the call
        events in order.
        """
        if self._unchanged(graph, touched, lost=lost):
            return []
        run = Settlement(graph, self._groups, self._group_of, self._max_size)
        run.run(touched, lost=lost)
        self._assign_ids(run.created)
        events = self._membership_events(run) if run.before else []
        events.extend(self._waiting_events(graph, run.visited | run.outsiders))
        return events

    def _unchanged(self, graph: Links, touched: Sequence[UserId], *, lost: bool) -> bool:
        """Whether settling would change nothing, decided cheaply for the common cases.

        True when every touched user is in a call that is still connected (if
        links were lost) and their links outside it go only to calls too big to
        merge with it, or to users already waiting for a call whose id is no
        greater than this full one. That covers people shuffling about inside
        and between crowds; anything else goes through a full settling.
        """
        damaged: list[Group] = []
        for user in touched:
            group = self._group_of.get(user)
            if group is None:
                return False
            members = group.members
            full = len(members) >= self._max_size
            for other in graph.neighbours(user):
                if other in members:
                    continue
                theirs = self._group_of.get(other)
                if theirs is None:
                    waiting = self._waiting.get(other)
                    if not full or waiting is None or waiting > group.id:
                        return False
                elif len(members) + len(theirs.members) <= self._max_size:
                    return False
            if lost and group not in damaged:
                damaged.append(group)
        return all(graph.connected(group.members) for group in damaged)

    def refresh_waiting(self, graph: Links, users: Iterable[UserId]) -> None:
        """Recompute who waits outside a full call, without telling anyone."""
        self._waiting.clear()
        for user in users:
            call_id = self._full_call_for(graph, user)
            if call_id is not None:
                self._waiting[user] = call_id

    def _assign_ids(self, created: list[Group]) -> None:
        for group in sorted((g for g in created if g.members), key=lambda g: min(g.members)):
            self.started += 1
            call_id = self._call_ids(self.started)
            if call_id in self._groups:
                raise ValueError(f"call id generator repeated {call_id!r}")
            group.call_id = call_id
            self._groups[call_id] = group

    def _membership_events(self, run: Settlement) -> list[Event]:
        left: dict[CallId, list[UserId]] = {}
        joined: dict[CallId, list[UserId]] = {}
        for user in sorted(run.before):
            old, new = run.before[user], self.call_of(user)
            if old == new:
                continue
            if old is not None:
                left.setdefault(old, []).append(user)
            if new is not None:
                joined.setdefault(new, []).append(user)
        events: list[Event] = []
        for call_id in sorted(left):
            leavers = left[call_id]
            events.extend(CallLeft((user,), call_id) for user in leavers)
            group = self._groups.get(call_id)
            if group is None:
                events.append(CallEnded(call_id, run.ended[call_id]))
                continue
            # A call that lives on kept its largest part, so at least two members stay.
            stayers = tuple(sorted(group.members.difference(joined.get(call_id, ()))))
            events.extend(CallPeerLeft(stayers, call_id, user) for user in leavers)
        for call_id in sorted(joined):
            events.extend(self._join_events(call_id, joined[call_id]))
        return events

    def _join_events(self, call_id: CallId, joiners: list[UserId]) -> list[Event]:
        group = self._groups[call_id]
        events: list[Event] = []
        if group.peak == 0:
            events.append(CallStarted(call_id))
        newcomers = set(joiners)
        everyone = sorted(group.members)
        for user in joiners:
            peers = tuple(
                CallPeer(peer, initiator=peer not in newcomers or user < peer)
                for peer in everyone
                if peer != user
            )
            events.append(CallJoined((user,), call_id, peers))
        earlier = tuple(peer for peer in everyone if peer not in newcomers)
        if earlier:
            events.extend(
                CallPeerJoined(earlier, call_id, user, initiator=False) for user in joiners
            )
        group.peak = max(group.peak, len(group.members))
        return events

    def _waiting_events(self, graph: Links, candidates: set[UserId]) -> list[Event]:
        events: list[Event] = []
        for user in sorted(candidates):
            call_id = self._full_call_for(graph, user)
            if call_id == self._waiting.get(user):
                continue
            if call_id is None:
                del self._waiting[user]
            else:
                self._waiting[user] = call_id
                events.append(CallFull((user,), call_id))
        return events

    def _full_call_for(self, graph: Links, user: UserId) -> CallId | None:
        # Settled, a user in no call is linked only to full calls (else they'd have joined).
        if user in self._group_of or not graph.is_eligible(user):
            return None
        ids = [
            group.id
            for other in graph.neighbours(user)
            if (group := self._group_of.get(other)) is not None
        ]
        return min(ids, default=None)
