"""Who is near whom, and who may share a call: the rules of proximity calls.

Nearness
    Two users are *near* when the Euclidean distance between their cells is at
    most `PROXIMITY_RADIUS_TILES` (2). Once near, they stay near until the
    distance exceeds `PROXIMITY_LEAVE_RADIUS_TILES` (3): the gap between the two
    radii (hysteresis) keeps calls from flapping when someone stands at the
    border. Nearness is pure geometry, tracked for every pair of users whatever
    their status, capability or areas; each change is a `ProximityEntered` or
    `ProximityLeft` domain event naming the pair in user-id order.

Eligibility
    A user can be in a call only when they joined with the proximity
    capability (`in_calls`), their status is not `dnd`, and their cell lies in
    no `silent` area.

Links
    Two eligible users are *linked* when both stand in the same `private` area
    (the first private area in map order that covers their cell), whatever the
    distance; or when neither stands in a private area and they are near.
    Someone in a private area is linked to nobody outside it.

Calls
    A call is a set of 2 to `MAX_CALL_SIZE` (6) eligible users connected
    through links. Without the cap, the calls are exactly the connected
    components of two or more linked users, whatever order people came in.
    With it:

    * Nobody is taken out of a call to make room. A user stays in their call
      while they are eligible and still connected to it through links.
    * A user in no call who is linked to a call with room joins it (to several:
      the largest, then the smallest call id).
    * Two linked users who are in no call start a new call.
    * Two linked calls merge when together they fit the cap; the larger keeps
      its id (equal sizes: an existing call over a part just split off, then
      the smaller id). Calls that would not fit together stay apart, so whoever
      arrives last (the mover, or the call that walks up) is the one left out.
    * A user in no call whose linked calls are all full receives `call-full`
      with the smallest of their ids, once when that starts (again if the call
      they wait for changes), and joins as soon as one has room while they are
      still linked to it.
    * A call that is no longer connected (a member left, walked away, went
      `dnd`, entered a silent or private area) splits into its connected parts.
      The part with the most members keeps the id (equal sizes: the part with
      the smallest user id); other parts of two or more continue as new calls;
      parts of one leave. A call left with one member ends.

Settling
    After each command the core applies those rules around the users it
    touched until none applies. Users are visited in ascending user-id order;
    one in no call joins the largest linked call with room, else starts a call
    with the linked user in no call that has the smallest id; one in a call
    takes in its linked users in no call while there is room, and merges with
    linked calls that fit, in the order of the linked users' ids. When the
    settling ends, new calls receive ids in order of their smallest member,
    from the space's call-id generator called with the running count of calls
    started in the space (`call-1`, `call-2`, … by default).

Call events
    A user whose call changed receives `call-left` for the call they were in,
    and the members who stay get `call-peer-left` for them; then `call-joined`
    for the call they are in now (listing every other member), and its earlier
    members get `call-peer-joined`. A merge is therefore leaving one call and
    joining the other. All leaves of a command come before all joins.

Initiator
    In every pair of a call exactly one side makes the WebRTC offer: the one
    who entered the call later, or if both entered with the same command (a
    new call, a merge, a split), the one with the smaller user id. The
    `initiator` flag of `call-joined` peers and of `call-peer-joined` is true
    when the *recipient* makes the offer to that peer, so earlier members
    always get `call-peer-joined` with `initiator: false`.

Signaling
    `from` may signal `to` exactly when both are in the same call.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Final, NamedTuple

from metaverse.core.events import Event, ProximityEntered, ProximityLeft
from metaverse.core.geometry import Position
from metaverse.core.ids import UserId
from metaverse.core.spatial import SpatialHash

Pair = tuple[UserId, UserId]


class Relinked(NamedTuple):
    """What a move changed: near pairs, and whose call links to settle."""

    entered: Sequence[Pair]
    left: Sequence[Pair]
    touched: list[UserId]
    """Users whose links may have changed; empty when none did."""
    lost: bool
    """Whether a link may have been lost (else calls can only grow or merge)."""


#: `_area_of` value for users who can't be in a call (private area keys are >= 0).
_INELIGIBLE: Final = -1
_NONE: Final[tuple[Pair, ...]] = ()
_NOBODY: Final[tuple[UserId, ...]] = ()


#: The one-cell steps a move may take.
STEPS: Final = ((1, 0), (-1, 0), (0, 1), (0, -1))


def arrival_tiles(step: tuple[int, int], radius_tiles: float) -> tuple[tuple[int, int], ...]:
    """Offsets from where `step` ends of the tiles within `radius_tiles` of its end but
    not of its start: where whoever came within the radius with the step stands."""
    reach = math.floor(radius_tiles)
    limit = radius_tiles * radius_tiles
    sx, sy = step
    return tuple(
        (dx, dy)
        for dx in range(-reach, reach + 1)
        for dy in range(-reach, reach + 1)
        if dx * dx + dy * dy <= limit < (dx + sx) ** 2 + (dy + sy) ** 2
    )


def pair(a: UserId, b: UserId) -> Pair:
    """The pair in user-id order, as events and snapshots name it."""
    return (a, b) if a < b else (b, a)


def pair_events(entered: Sequence[Pair], left: Sequence[Pair]) -> list[Event]:
    """The domain events of pairs that came near and that parted: those first."""
    events: list[Event] = [ProximityLeft(a, b) for a, b in left]
    events.extend(ProximityEntered(a, b) for a, b in entered)
    return events


class Proximity:
    """Near pairs kept with hysteresis, and the links of the call graph built on them."""

    __slots__ = (
        "_area_of",
        "_arrivals",
        "_enter_sq",
        "_hash",
        "_leave_sq",
        "_near",
        "_private",
        "_radius",
    )

    def __init__(self, positions: SpatialHash, radius_tiles: float, leave_radius_tiles: float):
        self._hash = positions
        self._radius = radius_tiles
        self._enter_sq = radius_tiles * radius_tiles
        self._leave_sq = leave_radius_tiles * leave_radius_tiles
        # Every pair within the radius is near (whoever moved last added it), so after a
        # one-cell step only the people on the tiles the step brought within the radius
        # can have come near: for each step, those tiles' offsets from where it ends.
        self._arrivals = {step: arrival_tiles(step, radius_tiles) for step in STEPS}
        self._near: dict[UserId, set[UserId]] = {}
        # Eligible users only: their private area key, or None outside private areas.
        self._area_of: dict[UserId, int | None] = {}
        self._private: dict[int, set[UserId]] = {}

    def add(self, user: UserId) -> list[Pair]:
        """Start tracking `user` (already placed in the hash); return the pairs now near."""
        mine = self._near[user] = set()
        for other in self._hash.near(self._hash.position(user), self._radius):
            if other != user:
                mine.add(other)
                self._near[other].add(user)
        return sorted(pair(user, other) for other in mine)

    def remove(self, user: UserId) -> tuple[list[Pair], list[UserId]]:
        """Stop tracking `user`; return the pairs no longer near and the users to settle."""
        touched = self.set_profile(user, eligible=False, private=None)
        mine = self._near.pop(user)
        for other in mine:
            self._near[other].discard(user)
        return sorted(pair(user, other) for other in mine), touched

    def moved(
        self, user: UserId, start: Position, *, eligible: bool, private: int | None
    ) -> Relinked:
        """Update `user` after they moved from `start` (already moved in the hash) and
        maybe changed profile; a one-cell step looks only where it could bring someone near."""
        key = private if eligible else _INELIGIBLE
        if self._area_of.get(user, _INELIGIBLE) != key:
            touched = self.set_profile(user, eligible=eligible, private=private)
        else:
            touched = []
        near = self._near
        positions = self._hash.positions
        here = positions[user]
        x, y = here
        mine = near[user]
        leave_sq = self._leave_sq
        left = []
        for other in mine:
            ox, oy = positions[other]
            if (ox - x) * (ox - x) + (oy - y) * (oy - y) > leave_sq:
                left.append(other)
        for other in left:
            mine.discard(other)
            near[other].discard(user)
        sx, sy = start
        arrivals = self._arrivals.get((x - sx, y - sy))
        if arrivals is None:  # not a one-cell step: look all around
            found = self._hash.near(here, self._radius)
            entered = [other for other in found if other not in mine and other != user]
        else:
            on = self._hash.on.get
            entered = [
                other
                for dx, dy in arrivals
                for other in on((x + dx, y + dy), _NOBODY)
                if other not in mine and other != user
            ]
        for other in entered:
            mine.add(other)
            near[other].add(user)
        if not entered and not left:
            return Relinked(_NONE, _NONE, touched, len(touched) > 1)
        lost = len(touched) > 1
        # Links follow nearness only outside private areas; inside, they follow the area.
        if not touched and key is None:
            touched, lost = [user, *left], bool(left)
        return Relinked(
            sorted([(user, o) if user < o else (o, user) for o in entered]),
            sorted([(user, o) if user < o else (o, user) for o in left]),
            touched,
            lost,
        )

    def restore(self, user: UserId) -> None:
        """Track `user` with no pairs yet; `link` adds the pairs a snapshot recorded."""
        self._near[user] = set()

    def link(self, a: UserId, b: UserId) -> None:
        self._near[a].add(b)
        self._near[b].add(a)

    def set_profile(self, user: UserId, *, eligible: bool, private: int | None) -> list[UserId]:
        """Record whether `user` can be in calls and in which private area.

        Returns the users whose links may have changed: none if the profile
        is unchanged, else `user` and everyone they were linked to.
        """
        old = self._area_of.get(user, _INELIGIBLE)
        new = private if eligible else _INELIGIBLE
        if old == new:
            return []
        touched = [user, *self.neighbours(user)]
        if old is not None and old != _INELIGIBLE:
            members = self._private[old]
            members.discard(user)
            if not members:
                del self._private[old]
        if new == _INELIGIBLE:
            del self._area_of[user]
        else:
            self._area_of[user] = new
            if new is not None:
                self._private.setdefault(new, set()).add(user)
        return touched

    def near_of(self, user: UserId) -> frozenset[UserId]:
        return frozenset(self._near[user])

    def pairs(self) -> list[Pair]:
        """Every near pair, sorted."""
        return sorted({pair(a, b) for a, others in self._near.items() for b in others})

    # The call graph, as the settling in `calls` reads it.

    def is_eligible(self, user: UserId) -> bool:
        return user in self._area_of

    def neighbours(self, user: UserId) -> Iterator[UserId]:
        """The users `user` is linked to, in no fixed order."""
        key = self._area_of.get(user, _INELIGIBLE)
        if key == _INELIGIBLE:
            return
        if key is not None:
            yield from (other for other in self._private[key] if other != user)
            return
        area_of = self._area_of
        for other in self._near[user]:
            if area_of.get(other, _INELIGIBLE) is None:
                yield other

    def connected(self, members: set[UserId]) -> bool:
        """Whether `members` (at least one) are one connected part through links: a call
        that lost a link checks it is still whole (`calls`), once every few moves."""
        area_of = self._area_of
        first = next(iter(members))
        key = area_of.get(first, _INELIGIBLE)
        if key == _INELIGIBLE:
            return len(members) == 1
        if key is not None:  # in a private area: linked to exactly the others in it
            return all(area_of.get(member, _INELIGIBLE) == key for member in members)
        near = self._near
        reached = {first}
        frontier = [first]
        while frontier:
            for other in (near[frontier.pop()] & members) - reached:
                if area_of.get(other, _INELIGIBLE) is None:
                    reached.add(other)
                    frontier.append(other)
        return len(reached) == len(members)

    def linked(self, a: UserId, b: UserId) -> bool:
        key_a = self._area_of.get(a, _INELIGIBLE)
        key_b = self._area_of.get(b, _INELIGIBLE)
        if key_a == _INELIGIBLE or key_b == _INELIGIBLE:
            return False
        if key_a is not None:
            return key_a == key_b
        return key_b is None and b in self._near[a]
