"""Chat text as stored: trimmed, one kind of line break, no control characters other
than tab and newline, no halves of UTF-16 pairs."""

from __future__ import annotations

import re

import pytest

from metaverse.chat.messages import MAX_TEXT_CHARS, ChatMessage, clean_text
from metaverse.errors import InvalidInput
from tests.messages import chat


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("  hello  ", "hello"),
        ("two\nlines", "two\nlines"),
        ("a\ttab", "a\ttab"),
        ("crlf\r\nand\rcr", "crlf\nand\ncr"),
        ("line\u2028and\u2029paragraph", "line\nand\nparagraph"),
        ("<b>ünï €</b> 🙂", "<b>ünï €</b> 🙂"),
    ],
)
def test_text_is_cleaned(text: str, cleaned: str) -> None:
    assert clean_text(text) == cleaned


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("  ", "empty"),
        ("x" * 2001, "too_long"),
        ("nul\u0000", "invalid_characters"),
        ("bell\u0007", "invalid_characters"),
        ("c1\u0085", "invalid_characters"),
        ("half\ud800 a pair", "invalid_characters"),
    ],
)
def test_text_that_is_empty_too_long_or_holds_controls_is_refused(text: str, code: str) -> None:
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


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("scope", "everyone", "unknown scope 'everyone'"),
        ("id", "", "id must be a non-empty string"),
        ("sender_name", 7, "sender_name must be a non-empty string"),
        ("text", None, "text must be a non-empty string"),
        ("ts_ms", "noon", "ts_ms must be an integer"),
        ("to", 5, "to must be a string"),
        ("room_id", ["r"], "room_id must be a string"),
        ("area", {"name": "Lounge"}, "area must be a string"),
    ],
)
def test_a_bad_record_says_what_is_wrong(field: str, value: object, reason: str) -> None:
    record = chat("s", "hello", scope="direct", to="u2").to_dict() | {field: value}
    with pytest.raises(ValueError, match=f"^{re.escape(reason)}$"):
        ChatMessage.from_dict(record)


def test_a_record_without_a_required_field_is_refused() -> None:
    record = chat("s", "hello").to_dict()
    del record["conversation"]
    with pytest.raises(KeyError):
        ChatMessage.from_dict(record)
