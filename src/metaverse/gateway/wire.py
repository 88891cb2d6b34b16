"""Core events → wire frames, per client capability.

Each outgoing core event becomes one frame type. Frames outside the base protocol are sent
only to clients that asked for their capability; profile fields only to `profiles`
clients. A frame is encoded once per variant, never once per recipient.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from metaverse.core import events as ev
from metaverse.core.ids import UserId
from metaverse.protocol import frames
from metaverse.protocol.codec import dumps, encode
from metaverse.protocol.frames import (
    BATCH,
    BATCH_FRAME,
    CAPABILITIES,
    CHAT,
    INTEREST,
    LIVE,
    MOVEMENT,
    PRESENCE,
    PROFILES,
    PROXIMITY,
    SOCIAL,
    capability_of,
)

__all__ = ["BATCH", "CHAT", "INTEREST", "LIVE", "PRESENCE", "PROFILES", "PROXIMITY", "SOCIAL"]

# The frame each outgoing core event becomes (`protocol.frames`), and the capability a
# client needs to get it (None: every client).
WIRE_TYPES: Final[dict[type[ev.Outgoing], tuple[str, str | None]]] = {
    event: (name, capability_of(name))
    for event, name in (
        (ev.SpaceJoined, frames.SPACE_JOINED),
        (ev.UserJoined, frames.USER_JOINED),
        (ev.Movement, frames.MOVEMENT),
        (ev.MovementRejected, frames.MOVEMENT_REJECTED),
        (ev.UserLeft, frames.USER_LEFT),
        (ev.StatusChanged, frames.STATUS),
        (ev.InterestEnter, frames.INTEREST_ENTER),
        (ev.InterestLeave, frames.INTEREST_LEAVE),
        (ev.CallJoined, frames.CALL_JOINED),
        (ev.CallPeerJoined, frames.CALL_PEER_JOINED),
        (ev.CallPeerLeft, frames.CALL_PEER_LEFT),
        (ev.CallLeft, frames.CALL_LEFT),
        (ev.CallFull, frames.CALL_FULL),
    )
}

Profile = Mapping[str, Any]

_MOVEMENT_HEAD: Final = '{"type":"' + MOVEMENT + '","payload":{"userId":'


def accepted_capabilities(asked: list[str]) -> tuple[str, ...]:
    """The known capabilities among those asked for, in the order of `CAPABILITIES`."""
    return tuple(capability for capability in CAPABILITIES if capability in asked)


def _user(user_id: UserId, x: int, y: int, profile: Profile | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"userId": user_id, "x": x, "y": y}
    if profile is not None:
        entry.update(profile)
    return entry


def batch_frame(frames: list[str]) -> str:
    """Encoded frames as one `batch`, in order."""
    return '{"type":"' + BATCH_FRAME + '","payload":{"messages":[' + ",".join(frames) + "]}}"


class Encoder:
    """Encodes outgoing events of one space, reading profiles and statuses as they are."""

    def __init__(self, profiles: Mapping[UserId, Profile], statuses: Mapping[UserId, Any]):
        self._profiles = profiles
        self._statuses = statuses
        # Each mover's id as JSON: a movement is the bulk of the traffic, and building its
        # text directly is several times cheaper than encoding its dict.
        self._quoted: dict[UserId, str] = {}
        # Each user's `space-joined` entry as JSON, plain and with the profile, and the core
        # entry it was made from: a join lists everyone, and most of them are as they were
        # at the last join (the core hands out a new entry when a user moved or changed).
        self._listed: dict[UserId, tuple[ev.UserEntry, str, str | None]] = {}

    def forget(self, user_id: UserId) -> None:
        """`user_id` left the space, or their profile changed."""
        self._quoted.pop(user_id, None)
        self._listed.pop(user_id, None)

    def space_joined(
        self,
        event: ev.SpaceJoined,
        *,
        with_profiles: bool,
        capabilities: list[str] | None,
    ) -> str:
        """The `space-joined` frame, the same text as `frame(event)` with `capabilities`
        and `inView` added, built from each listed user's cached entry."""
        listed = self._listed
        users = []
        for entry in event.users:
            cached = listed.get(entry.user_id)
            if cached is None or cached[0] is not entry:
                cached = listed[entry.user_id] = (
                    entry,
                    dumps(_user(entry.user_id, entry.x, entry.y, None)).decode(),
                    None,
                )
            if with_profiles:
                text = cached[2]
                if text is None:
                    profile = self.profile(entry.user_id)
                    text = dumps(_user(entry.user_id, entry.x, entry.y, profile)).decode()
                    listed[entry.user_id] = (entry, cached[1], text)
                users.append(text)
            else:
                users.append(cached[1])
        parts = [
            '{"type":"',
            frames.SPACE_JOINED,
            '","payload":{"spawn":{"x":',
            str(event.x),
            ',"y":',
            str(event.y),
            '},"users":[',
            ",".join(users),
            '],"userId":',
            dumps(event.user_id).decode(),
        ]
        if capabilities is not None:
            parts += (',"capabilities":', dumps(capabilities).decode())
        if event.in_view is not None:
            parts += (',"inView":', dumps(list(event.in_view)).decode())
        parts.append("}}")
        return "".join(parts)

    def movement(self, event: ev.Movement) -> str:
        """The `movement` frame, the same text as `frame(event)`, built faster."""
        quoted = self._quoted.get(event.user_id)
        if quoted is None:
            quoted = self._quoted[event.user_id] = dumps(event.user_id).decode()
        return f'{_MOVEMENT_HEAD}{quoted},"x":{event.x},"y":{event.y}}}}}'

    def profile(self, user_id: UserId) -> dict[str, Any]:
        profile = dict(self._profiles.get(user_id, {}))
        status, text = self._statuses.get(user_id, ("available", ""))
        profile["status"] = status
        profile["statusText"] = text
        return profile

    def frame(self, event: ev.Outgoing, *, with_profiles: bool) -> str:
        type_, _ = WIRE_TYPES[type(event)]
        return encode(type_, self.payload(event, with_profiles=with_profiles))

    def payload(self, event: ev.Outgoing, *, with_profiles: bool) -> dict[str, Any]:
        match event:
            case ev.SpaceJoined():
                return {
                    "spawn": {"x": event.x, "y": event.y},
                    "users": [
                        _user(
                            u.user_id, u.x, u.y, self.profile(u.user_id) if with_profiles else None
                        )
                        for u in event.users
                    ],
                    "userId": event.user_id,
                }
            case ev.UserJoined():
                profile = self.profile(event.user_id) if with_profiles else None
                return _user(event.user_id, event.x, event.y, profile)
            case ev.InterestEnter():
                profile = self.profile(event.user_id) if with_profiles else None
                return _user(event.user_id, event.x, event.y, profile)
            case ev.Movement():
                return {"userId": event.user_id, "x": event.x, "y": event.y}
            case ev.MovementRejected():
                return {"x": event.x, "y": event.y}
            case ev.UserLeft() | ev.InterestLeave():
                return {"userId": event.user_id}
            case ev.StatusChanged():
                return {"userId": event.user_id, "status": event.status, "text": event.text}
            case ev.CallJoined():
                return {
                    "callId": event.call_id,
                    "peers": [{"userId": p.user_id, "initiator": p.initiator} for p in event.peers],
                }
            case ev.CallPeerJoined():
                return {
                    "callId": event.call_id,
                    "userId": event.user_id,
                    "initiator": event.initiator,
                }
            case ev.CallPeerLeft():
                return {"callId": event.call_id, "userId": event.user_id}
            case ev.CallLeft() | ev.CallFull():
                return {"callId": event.call_id}
        raise TypeError(f"no wire form for {type(event).__name__}")  # pragma: no cover
