"""Chat text as stored: trimmed, without control characters or halves of UTF-16 pairs."""

from __future__ import annotations

import pytest

from metaverse.chat.messages import MAX_TEXT_CHARS, ChatMessage, clean_text
from metaverse.errors import InvalidInput
from tests.messages import chat


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("  hello  ", "hello"),
        ("two\nlines", "two\nlines"),
        ("bell\u0007 and\u2028 separator", "bell and separator"),
        ("half\ud800 a pair", "half a pair"),
        ("<b>ünï €</b> 🙂", "<b>ünï €</b> 🙂"),
    ],
)
def test_text_is_cleaned(text: str, cleaned: str) -> None:
    assert clean_text(text) == cleaned


@pytest.mark.parametrize(("text", "code"), [(" \u0000\udfff ", "empty"), ("x" * 2001, "too_long")])
def test_text_that_is_left_empty_or_too_long_is_refused(text: str, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_text(text)
    assert refused.value.code == code and MAX_TEXT_CHARS == 2000


def test_a_message_survives_its_record_whatever_its_characters() -> None:
    message = chat(
        "s",
        clean_text('quote " backslash \\ tab-less 🙂'),
        scope="area",
        conversation="area:s:Lounge ☕",
        sender_name="Zoë",
        area="Lounge ☕",
    )
    assert ChatMessage.from_bytes(message.to_bytes()) == message
