from __future__ import annotations

import pytest

from metaverse.core.areas import NO_RULES, CallRules
from metaverse.core.presence import Presence, can_call


@pytest.mark.parametrize(
    ("presence", "rules", "expected"),
    [
        (Presence("available", "", in_calls=True), NO_RULES, True),
        (Presence("busy", "", in_calls=True), CallRules(3, silent=False), True),
        (Presence("away", "", in_calls=True), NO_RULES, True),
        (Presence("dnd", "", in_calls=True), NO_RULES, False),
        (Presence("available", "", in_calls=False), NO_RULES, False),
        (Presence("available", "", in_calls=True), CallRules(None, silent=True), False),
    ],
)
def test_who_can_be_in_a_call(presence: Presence, rules: CallRules, expected: bool) -> None:
    assert can_call(presence, rules) is expected
