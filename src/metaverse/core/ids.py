"""Identifiers and the presence vocabulary shared by the whole core."""

from __future__ import annotations

from typing import Final, Literal, NewType, cast

UserId = NewType("UserId", str)
SpaceId = NewType("SpaceId", str)
CallId = NewType("CallId", str)

Status = Literal["available", "busy", "away", "dnd"]
STATUSES: Final[frozenset[str]] = frozenset({"available", "busy", "away", "dnd"})

#: The status that takes a user out of every call.
DO_NOT_DISTURB: Final[Status] = "dnd"


def check_status(value: str) -> Status:
    """Return `value` as a `Status`, or raise `ValueError` if it names none."""
    if value not in STATUSES:
        raise ValueError(f"unknown status {value!r}")
    return cast(Status, value)
