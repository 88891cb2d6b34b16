"""Who hears what is broadcast: everyone, or every mover's watchers.

Broadcasts name their recipients explicitly, but a move must not build a tuple
of the whole space. So the tuples of everyone, and of everyone without an area
of interest (who get every movement), are built once and shared until someone
joins, leaves, or turns interest on or off, each of which costs O(n) anyway.
"""

from __future__ import annotations

from metaverse.core.events import Event, InterestEnter, InterestLeave, Movement
from metaverse.core.geometry import Position
from metaverse.core.ids import UserId
from metaverse.core.interest import Interest


class Audience:
    """The users of a space in join order, and the recipients of broadcasts."""

    __slots__ = ("_everyone", "_interest", "_plain", "_users")

    def __init__(self, interest: Interest) -> None:
        self._interest = interest
        self._users: dict[UserId, None] = {}
        self._everyone: tuple[UserId, ...] | None = None
        self._plain: tuple[UserId, ...] | None = None

    def add(self, user: UserId) -> None:
        self._users[user] = None
        self._everyone = self._plain = None

    def remove(self, user: UserId) -> None:
        del self._users[user]
        self._everyone = self._plain = None

    def interest_toggled(self) -> None:
        """Someone turned their area of interest on or off."""
        self._plain = None

    def everyone(self) -> tuple[UserId, ...]:
        """Every user, in join order."""
        if self._everyone is None:
            self._everyone = tuple(self._users)
        return self._everyone

    def _without_interest(self) -> tuple[UserId, ...]:
        if self._plain is None:
            self._plain = tuple(u for u in self._users if u not in self._interest)
        return self._plain

    def movement(self, user: UserId, start: Position, end: Position) -> list[Event]:
        """Movement to the mover and to whoever watches `end`; interest changes for watchers."""
        plain = self._without_interest()
        if not self._interest:
            return [Movement(plain, user, end.x, end.y)]
        seeing, entering, leaving = self._interest.watchers_of_move(user, start, end)
        events: list[Event] = []
        if plain:
            events.append(Movement(plain, user, end.x, end.y))
        if user in self._interest:
            seeing.append(user)
            seeing.sort()
        if seeing:
            events.append(Movement(tuple(seeing), user, end.x, end.y))
        if entering:
            events.append(InterestEnter(tuple(entering), user, end.x, end.y))
        if leaving:
            events.append(InterestLeave(tuple(leaving), user))
        return events
