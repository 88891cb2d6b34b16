"""What a user shows others (status and text) and whether they can be in calls."""

from __future__ import annotations

from metaverse.core.areas import CallRules
from metaverse.core.ids import DO_NOT_DISTURB, Status


class Presence:
    """A user's status, status text, and whether their client takes part in calls."""

    __slots__ = ("in_calls", "status", "text")

    def __init__(self, status: Status, text: str, in_calls: bool) -> None:
        self.status = status
        self.text = text
        #: False for clients without the proximity capability: never in a call.
        self.in_calls = in_calls


def can_call(presence: Presence, rules: CallRules) -> bool:
    """Whether a user with `presence`, standing where `rules` hold, can be in a call."""
    return presence.in_calls and presence.status != DO_NOT_DISTURB and not rules.silent
