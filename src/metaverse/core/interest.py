"""Areas of interest: who watches which part of the space.

A user may set a viewport (in tiles). Their *region* is the viewport grown by
the interest margin on every side (and clipped to the space); they then get
movement only for users inside it, `interest-enter` when someone comes into it
(by moving, by joining, or because the region moved onto them) and
`interest-leave` when someone leaves it (by moving, by leaving the space, or
because the region moved away). Users without a viewport get every movement.

Regions are indexed by the square buckets they overlap, so finding who
watches a cell reads one bucket instead of every viewer. Each bucket keeps apart
the regions that cover all of it: those see every cell of the bucket without a
check, which spares about half the checks of a move that stays in its bucket.
"""

from __future__ import annotations

from collections.abc import Iterator

from metaverse.core.config import INTEREST_BUCKET_TILES
from metaverse.core.geometry import Position, Rect
from metaverse.core.ids import UserId
from metaverse.core.spatial import SpatialHash

# The viewers of one bucket. An alias, because inside `Interest` the name `set` is its method.
Viewers = set[UserId]


class Interest:
    """The viewports of the users who set one, and who watches what."""

    __slots__ = (
        "_bounds",
        "_covering",
        "_height",
        "_margin",
        "_partial",
        "_positions",
        "_regions",
        "_viewports",
        "_width",
    )

    def __init__(self, positions: SpatialHash, width: int, height: int, margin_tiles: int) -> None:
        self._positions = positions
        self._width = width
        self._height = height
        self._margin = margin_tiles
        self._viewports: dict[UserId, Rect] = {}
        self._regions: dict[UserId, Rect] = {}
        # (left, top, right, bottom) of each region, for the per-move loop.
        self._bounds: dict[UserId, tuple[int, int, int, int]] = {}
        # Per bucket: viewers whose region covers all of it, and those it only overlaps.
        self._covering: dict[tuple[int, int], Viewers] = {}
        self._partial: dict[tuple[int, int], Viewers] = {}

    def __contains__(self, user: object) -> bool:
        return user in self._viewports

    def __bool__(self) -> bool:
        return bool(self._viewports)

    def viewport(self, user: UserId) -> Rect | None:
        return self._viewports.get(user)

    def set(self, user: UserId, viewport: Rect | None) -> tuple[Rect | None, Rect | None]:
        """Set or clear `user`'s viewport; return their (old, new) regions."""
        old = self._regions.pop(user, None)
        self._viewports.pop(user, None)
        self._bounds.pop(user, None)
        if old is not None:
            for key in _bucket_keys(old):
                index = self._index(old, key)
                bucket = index[key]
                bucket.discard(user)
                if not bucket:
                    del index[key]
        if viewport is None:
            return old, None
        region = viewport.expand(self._margin).clip(self._width, self._height)
        self._viewports[user] = viewport
        self._regions[user] = region
        self._bounds[user] = (region.x, region.y, region.x + region.width, region.y + region.height)
        for key in _bucket_keys(region):
            self._index(region, key).setdefault(key, set()).add(user)
        return old, region

    def _index(self, region: Rect, key: tuple[int, int]) -> dict[tuple[int, int], Viewers]:
        """`_covering` if `region` covers all of bucket `key` (in the space), else `_partial`."""
        left, top = key[0] * INTEREST_BUCKET_TILES, key[1] * INTEREST_BUCKET_TILES
        right = min(left + INTEREST_BUCKET_TILES, self._width)
        bottom = min(top + INTEREST_BUCKET_TILES, self._height)
        covers = (
            region.x <= left
            and right <= region.x + region.width
            and region.y <= top
            and bottom <= region.y + region.height
        )
        return self._covering if covers else self._partial

    def _viewers(self, key: tuple[int, int]) -> Viewers:
        """Every viewer whose region overlaps bucket `key`."""
        return self._covering.get(key, set()) | self._partial.get(key, set())

    def watchers(self, cell: Position, *, besides: UserId) -> list[UserId]:
        """The viewers (other than `besides`) whose region contains `cell`, sorted."""
        key = (cell.x // INTEREST_BUCKET_TILES, cell.y // INTEREST_BUCKET_TILES)
        regions = self._regions
        return sorted(
            viewer
            for viewer in self._viewers(key)
            if viewer != besides and regions[viewer].contains(cell.x, cell.y)
        )

    def watchers_of_move(
        self, user: UserId, start: Position, end: Position
    ) -> tuple[list[UserId], list[UserId], list[UserId]]:
        """Viewers of a move from `start` to `end`: (seeing both, entering, leaving), sorted."""
        sx, sy = start
        ex, ey = end
        key = (sx // INTEREST_BUCKET_TILES, sy // INTEREST_BUCKET_TILES)
        end_key = (ex // INTEREST_BUCKET_TILES, ey // INTEREST_BUCKET_TILES)
        entering: list[UserId] = []
        leaving: list[UserId] = []
        if key == end_key:
            # Both cells in one bucket: who covers it sees both, only the others are checked.
            covering = self._covering.get(key)
            seeing = list(covering) if covering else []
            candidates = self._partial.get(key, ())
        else:
            seeing = []
            candidates = self._viewers(key) | self._viewers(end_key)
        bounds = self._bounds
        for viewer in candidates:
            left, top, right, bottom = bounds[viewer]
            if left <= ex < right and top <= ey < bottom:
                if left <= sx < right and top <= sy < bottom:
                    seeing.append(viewer)
                else:
                    entering.append(viewer)
            elif left <= sx < right and top <= sy < bottom:
                leaving.append(viewer)
        if user in bounds:
            for found in (seeing, entering, leaving):
                if user in found:
                    found.remove(user)
        seeing.sort()
        entering.sort()
        leaving.sort()
        return seeing, entering, leaving

    def in_view(self, viewer: UserId) -> list[UserId]:
        """The users inside `viewer`'s region, sorted; empty without a viewport."""
        region = self._regions.get(viewer)
        if region is None:
            return []
        return sorted(user for user in self._positions.within(region) if user != viewer)

    def changes(
        self, viewer: UserId, old: Rect | None, new: Rect | None
    ) -> tuple[list[UserId], list[UserId]]:
        """Users entering and leaving `viewer`'s sight when their region went from old to new.

        Clearing a viewport makes every user outside the old region enter,
        because from then on the viewer gets every movement.
        """
        if new is None:
            if old is None:
                return [], []
            outside = (u for u, cell in self._positions.users() if not old.contains(*cell))
            return sorted(u for u in outside if u != viewer), []
        if old is None:
            return self.in_view(viewer), []
        entering: list[UserId] = []
        leaving: list[UserId] = []
        for user in set(self._positions.within(old)) | set(self._positions.within(new)):
            if user == viewer:
                continue
            cell = self._positions.position(user)
            was, now = old.contains(*cell), new.contains(*cell)
            if now and not was:
                entering.append(user)
            elif was and not now:
                leaving.append(user)
        return sorted(entering), sorted(leaving)


def _bucket_keys(region: Rect) -> Iterator[tuple[int, int]]:
    if region.is_empty:
        return
    for bx in range(region.x // INTEREST_BUCKET_TILES, _last(region.x, region.width)):
        for by in range(region.y // INTEREST_BUCKET_TILES, _last(region.y, region.height)):
            yield bx, by


def _last(start: int, length: int) -> int:
    return (start + length - 1) // INTEREST_BUCKET_TILES + 1
