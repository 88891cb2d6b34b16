"""A hand-made call graph for testing the call rules without geometry."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from metaverse.core.calls import CallBook
from metaverse.core.events import Event
from metaverse.core.ids import CallId, UserId
from metaverse.core.settle import pieces


class Graph:
    """Links and eligibility set by hand; everyone added is eligible until `drop`ped."""

    def __init__(self) -> None:
        self.eligible: set[UserId] = set()
        self.links: set[frozenset[UserId]] = set()

    def chain(self, *names: str) -> list[UserId]:
        """Make each user eligible and link each one to the next."""
        users = [UserId(name) for name in names]
        self.eligible.update(users)
        for a, b in itertools.pairwise(users):
            self.links.add(frozenset((a, b)))
        return users

    def cut(self, a: str, b: str) -> None:
        self.links.discard(frozenset((UserId(a), UserId(b))))

    def is_eligible(self, user: UserId) -> bool:
        return user in self.eligible

    def neighbours(self, user: UserId) -> Iterator[UserId]:
        if user not in self.eligible:
            return
        for link in self.links:
            if user in link:
                (other,) = link - {user}
                if other in self.eligible:
                    yield other

    def linked(self, a: UserId, b: UserId) -> bool:
        return a in self.eligible and b in self.eligible and frozenset((a, b)) in self.links

    def connected(self, members: set[UserId]) -> bool:
        return len(pieces(sorted(members), self.linked)) == 1


def calls(book: CallBook) -> dict[CallId, set[str]]:
    return {call_id: set(members) for call_id, members, _ in book.calls()}


def settle(book: CallBook, graph: Graph, *touched: str) -> list[Event]:
    return book.settle(graph, [UserId(name) for name in touched])
