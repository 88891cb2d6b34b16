from __future__ import annotations

from metaverse.core.audience import Audience
from metaverse.core.events import InterestEnter, InterestLeave, Movement
from metaverse.core.geometry import Position, Rect
from metaverse.core.ids import UserId
from metaverse.core.interest import Interest
from metaverse.core.spatial import SpatialHash

A, B, C = (UserId(name) for name in "abc")


def _audience() -> tuple[Interest, Audience]:
    interest = Interest(SpatialHash(3), 40, 40, margin_tiles=0)
    audience = Audience(interest)
    for user in (B, A, C):
        audience.add(user)
    return interest, audience


def test_broadcast_tuples_follow_join_order_and_are_shared() -> None:
    _, audience = _audience()
    assert audience.everyone() == (B, A, C)
    assert audience.everyone() is audience.everyone()
    audience.remove(A)
    assert audience.everyone() == (B, C)


def test_without_viewports_the_mover_and_everyone_get_the_movement() -> None:
    _, audience = _audience()
    assert audience.movement(A, Position(0, 0), Position(1, 0)) == [Movement((B, A, C), A, 1, 0)]


def test_viewers_get_movement_only_where_they_look() -> None:
    interest, audience = _audience()
    interest.set(B, Rect(0, 0, 2, 1))
    audience.interest_toggled()
    assert audience.movement(A, Position(0, 0), Position(1, 0)) == [
        Movement((A, C), A, 1, 0),
        Movement((B,), A, 1, 0),
    ]
    assert audience.movement(A, Position(1, 0), Position(2, 0)) == [
        Movement((A, C), A, 2, 0),
        InterestLeave((B,), A),
    ]
    assert audience.movement(A, Position(1, 1), Position(1, 0)) == [
        Movement((A, C), A, 1, 0),
        InterestEnter((B,), A, 1, 0),
    ]
    # A viewer moving gets their own movement as acknowledgement.
    assert audience.movement(B, Position(9, 9), Position(9, 8)) == [
        Movement((A, C), B, 9, 8),
        Movement((B,), B, 9, 8),
    ]
    for user in (A, C):
        interest.set(user, Rect(0, 0, 1, 1))
    audience.interest_toggled()
    assert audience.movement(C, Position(5, 5), Position(5, 6)) == [Movement((C,), C, 5, 6)]
