"""Where every user stands, hashed into square cells so neighbourhood queries stay local.

With cells as wide as the proximity leave radius, everything within that
radius of a user lies in the 3x3 cells around theirs, so a query costs the
people nearby, not the people in the space. Who stands on each occupied tile is
kept too (`on`): after a one-cell step, the people who may have come within a
small radius stand on a handful of known tiles.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

from metaverse.core.geometry import Position, Rect
from metaverse.core.ids import UserId


class SpatialHash:
    """User positions plus a bucket of users per hash cell."""

    __slots__ = ("_buckets", "_cell", "_positions", "_tiles")

    def __init__(self, cell_tiles: int) -> None:
        if cell_tiles < 1:
            raise ValueError("hash cells are at least one tile wide")
        self._cell = cell_tiles
        self._positions: dict[UserId, Position] = {}
        self._buckets: dict[tuple[int, int], set[UserId]] = {}
        self._tiles: dict[tuple[int, int], set[UserId]] = {}

    def __len__(self) -> int:
        return len(self._positions)

    def __contains__(self, user: object) -> bool:
        return user in self._positions

    def position(self, user: UserId) -> Position:
        """Where `user` stands; `KeyError` if they aren't here."""
        return self._positions[user]

    @property
    def positions(self) -> Mapping[UserId, Position]:
        """Every user's cell (read-only), for loops too hot for `position`."""
        return self._positions

    @property
    def on(self) -> Mapping[tuple[int, int], set[UserId]]:
        """Who stands on each occupied tile (read-only; a tile nobody is on is absent)."""
        return self._tiles

    def _key(self, cell: Position) -> tuple[int, int]:
        return cell.x // self._cell, cell.y // self._cell

    def add(self, user: UserId, cell: Position) -> None:
        if user in self._positions:
            raise ValueError(f"{user} is already placed")
        self._positions[user] = cell
        self._buckets.setdefault(self._key(cell), set()).add(user)
        self._tiles.setdefault(cell, set()).add(user)

    def remove(self, user: UserId) -> Position:
        """Forget `user` and return where they stood."""
        cell = self._positions.pop(user)
        key = self._key(cell)
        bucket = self._buckets[key]
        bucket.discard(user)
        if not bucket:
            del self._buckets[key]
        self._leave_tile(user, cell)
        return cell

    def move(self, user: UserId, cell: Position) -> Position:
        """Put `user` on `cell` and return where they stood."""
        positions = self._positions
        old = positions[user]
        positions[user] = cell
        size = self._cell
        (ox, oy), (x, y) = old, cell
        old_key, new_key = (ox // size, oy // size), (x // size, y // size)
        if old_key != new_key:
            buckets = self._buckets
            bucket = buckets[old_key]
            bucket.discard(user)
            if not bucket:
                del buckets[old_key]
            buckets.setdefault(new_key, set()).add(user)
        self._leave_tile(user, old)
        tile = self._tiles.get(cell)
        if tile is None:
            self._tiles[cell] = {user}
        else:
            tile.add(user)
        return old

    def _leave_tile(self, user: UserId, cell: Position) -> None:
        tile = self._tiles[cell]
        if len(tile) == 1:
            del self._tiles[cell]
        else:
            tile.discard(user)

    def near(self, centre: Position, radius_tiles: float) -> list[UserId]:
        """Users within `radius_tiles` (Euclidean, inclusive) of `centre`, in no fixed order."""
        reach = math.floor(radius_tiles)
        limit = radius_tiles * radius_tiles
        positions, buckets, cell = self._positions, self._buckets, self._cell
        cx, cy = centre
        found = []
        for bx in range((cx - reach) // cell, (cx + reach) // cell + 1):
            for by in range((cy - reach) // cell, (cy + reach) // cell + 1):
                bucket = buckets.get((bx, by))
                if bucket:
                    for user in bucket:
                        x, y = positions[user]
                        if (x - cx) * (x - cx) + (y - cy) * (y - cy) <= limit:
                            found.append(user)
        return found

    def within(self, rect: Rect) -> Iterator[UserId]:
        """Users whose cell lies inside `rect`, in no fixed order."""
        if rect.is_empty:
            return
        positions, buckets, cell = self._positions, self._buckets, self._cell
        xs = range(rect.x // cell, (rect.x + rect.width - 1) // cell + 1)
        ys = range(rect.y // cell, (rect.y + rect.height - 1) // cell + 1)
        if len(xs) * len(ys) > len(buckets):
            # A rectangle wider than the crowd: reading the occupied buckets is cheaper.
            keys = [k for k in buckets if k[0] in xs and k[1] in ys]
        else:
            keys = [(bx, by) for bx in xs for by in ys]
        for key in keys:
            for user in buckets.get(key, ()):
                if rect.contains(*positions[user]):
                    yield user

    def users(self) -> Iterator[tuple[UserId, Position]]:
        """Every user and cell, in the order they were placed."""
        return iter(self._positions.items())
