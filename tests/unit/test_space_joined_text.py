"""`space-joined` built from cached entries is the same text as encoding its payload, also
after people moved, changed status or profile, and left."""

from __future__ import annotations

from typing import Any

from metaverse.core import events as ev
from metaverse.core.geometry import Position, Rect
from metaverse.core.ids import UserId
from metaverse.core.maps import SpaceMap
from metaverse.core.space import Space
from metaverse.gateway.wire import Encoder
from metaverse.protocol.codec import encode

ann, bob, cat, dan = (UserId(n) for n in ("ann", "bob", "cat", "dan"))


def joined(events: list[ev.Event]) -> ev.SpaceJoined:
    [event] = [e for e in events if isinstance(e, ev.SpaceJoined)]
    return event


def check(encoder: Encoder, event: ev.SpaceJoined) -> None:
    for with_profiles in (False, True):
        for capabilities in (None, ["chat", "profiles"]):
            payload: dict[str, Any] = encoder.payload(event, with_profiles=with_profiles)
            if capabilities is not None:
                payload["capabilities"] = capabilities
            if event.in_view is not None:
                payload["inView"] = list(event.in_view)
            expected = encode("space-joined", payload)
            text = encoder.space_joined(
                event, with_profiles=with_profiles, capabilities=capabilities
            )
            assert text == expected


def test_space_joined_from_cached_entries_is_the_encoded_payload() -> None:
    profiles: dict[UserId, dict[str, Any]] = {
        u: {"username": str(u), "displayName": None, "avatarUrl": None} for u in (ann, bob, cat)
    }
    statuses: dict[UserId, tuple[str, str]] = {}
    encoder = Encoder(profiles, statuses)
    space = Space(SpaceMap(20, 20))
    space.join(ann, at=Position(1, 1))
    space.join(bob, at=Position(5, 5), status="busy", text="hi")
    statuses[bob] = ("busy", "hi")
    check(encoder, joined(space.join(cat, at=Position(9, 9))))
    # Ann moves, bob's status and cat's profile change: the next list shows it.
    space.move(ann, 2, 1)
    space.set_status(bob, "away", "lunch")
    statuses[bob] = ("away", "lunch")
    profiles[cat] = {"username": "cat", "displayName": 'Cat "C"', "avatarUrl": "/a.png"}
    encoder.forget(cat)
    space.leave(bob)
    check(encoder, joined(space.join(dan, at=Position(3, 3), viewport=Rect(0, 0, 5, 5))))
