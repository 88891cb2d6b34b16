from __future__ import annotations

import pytest

from metaverse.core.config import (
    INTEREST_MARGIN_TILES,
    MAX_CALL_SIZE,
    PROXIMITY_LEAVE_RADIUS_TILES,
    PROXIMITY_RADIUS_TILES,
    SpaceConfig,
)


def test_defaults_follow_the_issue() -> None:
    config = SpaceConfig()
    assert (PROXIMITY_RADIUS_TILES, PROXIMITY_LEAVE_RADIUS_TILES, MAX_CALL_SIZE) == (2, 3, 6)
    assert config.interest_margin_tiles == INTEREST_MARGIN_TILES
    assert config.hash_cell_tiles == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"proximity_radius_tiles": 0}, "radius"),
        ({"proximity_radius_tiles": 4}, "radius"),
        ({"max_call_size": 1}, "at least two"),
        ({"interest_margin_tiles": -1}, "margin"),
    ],
)
def test_nonsense_is_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SpaceConfig(**kwargs)  # type: ignore[arg-type]


def test_hash_cells_cover_the_leave_radius() -> None:
    assert SpaceConfig(proximity_leave_radius_tiles=2.5).hash_cell_tiles == 3
    assert (
        SpaceConfig(proximity_radius_tiles=0.5, proximity_leave_radius_tiles=0.5).hash_cell_tiles
        == 1
    )
