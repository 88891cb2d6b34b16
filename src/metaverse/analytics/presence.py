"""Who is in a space, from its arrivals and departures (pure).

A user's balance is their arrivals minus their departures; they are present while it is
positive and count once however high it is. The gateway alternates the two for each
user, so a balance above one means a departure was lost (a gateway stopped without
recording it); under this rule that user stays counted as present until some later
departure makes up for the lost one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

ARRIVED: Final = "user-arrived"
DEPARTED: Final = "user-departed"
PRESENCE_KINDS: Final = (ARRIVED, DEPARTED)


def delta(kind: str) -> int:
    """+1 for an arrival, -1 for a departure."""
    if kind == ARRIVED:
        return 1
    if kind == DEPARTED:
        return -1
    raise ValueError(f"{kind!r} is not an arrival or a departure")


def count_present(balances: Mapping[str, int]) -> int:
    return sum(1 for balance in balances.values() if balance > 0)


class Presence:
    """Replays arrivals and departures from the balances at some instant.

    `peak` is the most users present at once since that instant, the instant included.
    """

    __slots__ = ("balances", "peak", "present")

    def __init__(self, balances: Mapping[str, int] | None = None) -> None:
        self.balances = {user: n for user, n in (balances or {}).items() if n}
        self.present = count_present(self.balances)
        self.peak = self.present

    def apply(self, user_id: str, kind: str) -> None:
        before = self.balances.get(user_id, 0)
        after = before + delta(kind)
        if after:
            self.balances[user_id] = after
        else:
            del self.balances[user_id]
        if before <= 0 < after:
            self.present += 1
            self.peak = max(self.peak, self.present)
        elif after <= 0 < before:
            self.present -= 1


def replay(balances: Mapping[str, int], changes: Iterable[tuple[str, str]]) -> Presence:
    """`Presence` after applying `(user_id, kind)` changes in order."""
    presence = Presence(balances)
    for user_id, kind in changes:
        presence.apply(user_id, kind)
    return presence
