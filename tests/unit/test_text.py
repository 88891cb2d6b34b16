"""The character rule every accepted string follows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metaverse.text import check_display_name, check_text, has_forbidden_chars

CONTROLS = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]]
INVISIBLE = ["\u202a", "\u202e", "\u2066", "\u2069", "\u200b", "\u200d", "\u2060", "\ufeff"]


@pytest.mark.parametrize("char", [*CONTROLS, "\ud800", "\udfff"])
def test_controls_and_lone_surrogates_are_refused(char: str) -> None:
    assert has_forbidden_chars(f"a{char}b")
    with pytest.raises(ValueError, match=f"U\\+{ord(char):04X}"):
        check_text(f"a{char}b")
    with pytest.raises(ValueError):
        check_display_name(f"a{char}b")


@pytest.mark.parametrize("char", ["\t", "\n", "\r"])
def test_multiline_text_may_hold_tabs_and_newlines(char: str) -> None:
    assert check_text(f"a{char}b", multiline=True) == f"a{char}b"
    assert not has_forbidden_chars(f"a{char}b", multiline=True)
    assert has_forbidden_chars(f"a{char}b")


@pytest.mark.parametrize("char", [c for c in CONTROLS if c not in "\t\n\r"])
def test_multiline_text_refuses_other_controls(char: str) -> None:
    assert has_forbidden_chars(f"a{char}b", multiline=True)


@pytest.mark.parametrize("char", INVISIBLE)
def test_display_names_refuse_bidi_and_zero_width_characters(char: str) -> None:
    assert check_text(f"ali{char}ce") == f"ali{char}ce"
    with pytest.raises(ValueError, match=f"U\\+{ord(char):04X}"):
        check_display_name(f"ali{char}ce")


@pytest.mark.parametrize("text", ["", "Zoë 🙂", "日本語", "مرحبا", "a\u00a0b", "\ue000"])
def test_ordinary_text_passes(text: str) -> None:
    assert check_text(text) == text
    assert check_display_name(text) == text


@given(st.text(st.characters(exclude_categories=["Cc", "Cs"])))
def test_text_without_controls_or_surrogates_passes(text: str) -> None:
    assert check_text(text) == text and not has_forbidden_chars(text)


@given(st.text(st.characters(categories=["Cc", "Cs"]), min_size=1))
def test_any_control_or_surrogate_is_found(text: str) -> None:
    assert has_forbidden_chars(text)
