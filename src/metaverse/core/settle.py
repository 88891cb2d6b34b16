"""The settling of calls: applying the call rules of `proximity` until none applies.

A settlement works on the call book's own dictionaries, in place, starting
from the users a command touched. Users are visited from a priority queue in
ascending user-id order, and every change queues the users it could give a new
move, so the work stays within the neighbourhood of the change. Every step
either merges two calls or takes someone out of "in no call", so it ends.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from metaverse.core.ids import CallId, UserId


class Links(Protocol):
    def is_eligible(self, user: UserId) -> bool: ...

    def neighbours(self, user: UserId) -> Iterator[UserId]: ...

    def linked(self, a: UserId, b: UserId) -> bool: ...

    def connected(self, members: set[UserId]) -> bool:
        """Whether `members` (at least one) are one connected part through links."""
        ...


class Group:
    """A call, or a call-to-be whose id is assigned when the settlement ends."""

    __slots__ = ("call_id", "members", "peak")

    def __init__(self, call_id: CallId | None, members: set[UserId], peak: int = 0) -> None:
        self.call_id = call_id
        self.members = members
        #: The most members the call has had after any command; 0 until it has an id.
        self.peak = peak

    @property
    def id(self) -> CallId:
        assert self.call_id is not None, "a settled call has an id"
        return self.call_id

    def rank(self) -> tuple[int, int, str]:
        """Sort key: larger first, then existing calls by id, then new ones by smallest member."""
        if self.call_id is not None:
            return (-len(self.members), 0, self.call_id)
        return (-len(self.members), 1, min(self.members))


class Settlement:
    """One run of the call rules over the calls of a space."""

    def __init__(
        self,
        links: Links,
        groups: dict[CallId, Group],
        group_of: dict[UserId, Group],
        max_size: int,
    ) -> None:
        self._links = links
        self._groups = groups
        self._group_of = group_of
        self._max = max_size
        #: The call each user whose membership changed was in before.
        self.before: dict[UserId, CallId | None] = {}
        #: Groups started in this run (the ones still with members need ids).
        self.created: list[Group] = []
        #: Calls that ended in this run, with their peak size.
        self.ended: dict[CallId, int] = {}
        #: Users visited, and the users in no call next to them: the only ones
        #: whose call or wait may have changed.
        self.visited: set[UserId] = set()
        self.outsiders: set[UserId] = set()
        self._queue: list[UserId] = []
        self._queued: set[UserId] = set()

    def run(self, touched: Iterable[UserId], *, lost: bool) -> None:
        """Settle around `touched`; `lost` says whether any of their links may have gone."""
        damaged: dict[Group, bool] = {}
        for user in sorted(set(touched)):
            self._push(user)
            group = self._group_of.get(user)
            if group is None:
                continue
            if not self._links.is_eligible(user):
                self._place(user, None)
                damaged[group] = True
            elif lost:
                damaged.setdefault(group, False)
        for group, shrank in damaged.items():
            self._repair(group, shrank=shrank)
        while self._queue:
            user = heapq.heappop(self._queue)
            self._queued.discard(user)
            self.visited.add(user)
            self._visit(user)

    def _push(self, user: UserId) -> None:
        if user not in self._queued:
            self._queued.add(user)
            heapq.heappush(self._queue, user)

    def _place(self, user: UserId, group: Group | None) -> None:
        old = self._group_of.get(user)
        if user not in self.before:
            self.before[user] = None if old is None else old.call_id
        if old is not None:
            old.members.discard(user)
        if group is None:
            self._group_of.pop(user, None)
        else:
            group.members.add(user)
            self._group_of[user] = group

    def _new_group(self, users: Iterable[UserId]) -> Group:
        group = Group(None, set())
        self.created.append(group)
        for user in users:
            self._place(user, group)
        return group

    def _dissolve(self, group: Group) -> None:
        for user in sorted(group.members):
            self._place(user, None)
        if group.call_id is not None:
            del self._groups[group.call_id]
            self.ended[group.call_id] = group.peak

    def _repair(self, group: Group, *, shrank: bool) -> None:
        """Split a call that may have fallen apart; queue its members if it changed."""
        if not shrank and self._links.connected(group.members):
            return
        members = sorted(group.members)
        parts = pieces(members, self._links.linked)
        parts.sort(key=lambda part: (-len(part), part[0]))
        for piece in parts[1:]:
            if len(piece) > 1:
                self._new_group(piece)
            else:
                self._place(piece[0], None)
        if len(group.members) < 2:
            self._dissolve(group)
        for member in members:
            self._push(member)

    def _visit(self, user: UserId) -> None:
        if not self._links.is_eligible(user):
            return
        neighbours = sorted(self._links.neighbours(user))
        self.outsiders.update(other for other in neighbours if other not in self._group_of)
        group = self._group_of.get(user)
        if group is None:
            self._visit_outsider(user, neighbours)
        else:
            self._visit_member(group, neighbours)

    def _visit_outsider(self, user: UserId, neighbours: list[UserId]) -> None:
        best: Group | None = None
        for other in neighbours:
            group = self._group_of.get(other)
            if (
                group is not None
                and len(group.members) < self._max
                and (best is None or group.rank() < best.rank())
            ):
                best = group
        if best is not None:
            self._place(user, best)
            self._push(user)
            return
        for other in neighbours:
            if other not in self._group_of:
                self._new_group((user, other))
                self._push(user)
                self._push(other)
                return

    def _visit_member(self, group: Group, neighbours: list[UserId]) -> None:
        for other in neighbours:
            theirs = self._group_of.get(other)
            if theirs is group:
                continue
            if theirs is None:
                if len(group.members) < self._max:
                    self._place(other, group)
                    self._push(other)
            elif len(group.members) + len(theirs.members) <= self._max:
                group = self._merge(group, theirs)

    def _merge(self, a: Group, b: Group) -> Group:
        keeper, absorbed = (a, b) if a.rank() < b.rank() else (b, a)
        for user in sorted(absorbed.members):
            self._place(user, keeper)
        self._dissolve(absorbed)
        for user in keeper.members:
            self._push(user)
        return keeper


def pieces(members: list[UserId], linked: Callable[[UserId, UserId], bool]) -> list[list[UserId]]:
    """The connected parts of `members` (sorted), each sorted."""
    unseen = set(members)
    parts: list[list[UserId]] = []
    for start in members:
        if start not in unseen:
            continue
        unseen.discard(start)
        piece, stack = [start], [start]
        while stack:
            user = stack.pop()
            for other in members:
                if other in unseen and linked(user, other):
                    unseen.discard(other)
                    piece.append(other)
                    stack.append(other)
        parts.append(sorted(piece))
    return parts
