"""The pure core of a space: grid, collision, spatial index, proximity calls, interest.

Nothing here awaits, reads a clock or touches I/O. `Space` takes commands as
plain values and returns the events to send (`events`); `snapshot` turns its
state into a plain value and back.
"""

from metaverse.core.areas import Area, AreaKind
from metaverse.core.config import SpaceConfig
from metaverse.core.geometry import Position, Rect
from metaverse.core.grid import Element
from metaverse.core.ids import CallId, SpaceId, Status, UserId
from metaverse.core.maps import SpaceMap
from metaverse.core.snapshot import Snapshot, apply, apply_all
from metaverse.core.space import Space

__all__ = [
    "Area",
    "AreaKind",
    "CallId",
    "Element",
    "Position",
    "Rect",
    "Snapshot",
    "Space",
    "SpaceConfig",
    "SpaceId",
    "SpaceMap",
    "Status",
    "UserId",
    "apply",
    "apply_all",
]
