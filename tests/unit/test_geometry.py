"""Dimensions as the API writes them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metaverse.errors import InvalidInput
from metaverse.world.geometry import Dimensions, format_dimensions, parse_dimensions


@given(st.integers(1, 9999), st.integers(1, 9999))
def test_round_trip(width: int, height: int) -> None:
    text = format_dimensions(width, height)
    assert parse_dimensions(text) == Dimensions(width, height)
    assert str(parse_dimensions(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        *["", "100", "x", "0x5", "5x0", "10000x1", "1x10000", "1X1", " 1x1", "-1x5", "1.5x2"],
        *["10x10\n", "10x10 ", "\u0661\u0660x\u0661\u0660", "\uff11x\uff11", "1x\u00b2"],
    ],
)
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_dimensions(text)


def test_contains() -> None:
    dims = Dimensions(10, 5)
    assert dims.contains(0, 0) and dims.contains(9, 4)
    assert not dims.contains(10, 0) and not dims.contains(0, 5) and not dims.contains(-1, 0)
    assert dims.contains_rect(0, 0, 10, 5) and not dims.contains_rect(1, 0, 10, 5)
    assert not dims.contains_rect(0, 0, 0, 1)
