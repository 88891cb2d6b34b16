"""Client messages: every string follows the character rule, and a refused chat message
keeps the `clientId` its `chat-error` answers to."""

from __future__ import annotations

import json
from typing import Any

import pytest

from metaverse.protocol.codec import ProtocolError, decode
from metaverse.protocol.messages import MAX_SIGNAL_DEPTH, Chat, MediaState, SetStatus, Signal

# Every string field of every client message, in a payload that is valid otherwise.
STRING_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("join", {"spaceId": "s1", "token": "t"}, "spaceId"),
    ("join", {"spaceId": "s1", "token": "t"}, "token"),
    ("video-call-signaling", {"to": "u1", "data": {}}, "to"),
    ("status", {"status": "busy", "text": "here"}, "text"),
    ("chat", {"scope": "space", "text": "hi"}, "text"),
    ("chat", {"scope": "space", "text": "hi", "clientId": "c1"}, "clientId"),
    ("chat", {"scope": "direct", "text": "hi", "clientId": "c1", "to": "u1"}, "to"),
    ("chat", {"scope": "room", "text": "hi", "clientId": "c1", "roomId": "r1"}, "roomId"),
]


def frame(type_: str, payload: dict[str, Any]) -> str:
    return json.dumps({"type": type_, "payload": payload})


def refusal(text: str) -> ProtocolError:
    with pytest.raises(ProtocolError) as raised:
        decode(text)
    return raised.value


@pytest.mark.parametrize(("type_", "payload", "field"), STRING_FIELDS)
@pytest.mark.parametrize("char", ["\u0000", "\u0007", "\u001b", "\u007f", "\u0085"])
def test_a_control_character_in_any_string_is_refused(
    type_: str, payload: dict[str, Any], field: str, char: str
) -> None:
    decode(frame(type_, payload))  # valid as it is
    error = refusal(frame(type_, {**payload, field: f"a{char}b"}))
    assert error.code == "invalid_characters"
    assert field in error.message and f"U+{ord(char):04X}" in error.message


def test_capabilities_follow_the_rule_too() -> None:
    payload = {"spaceId": "s1", "token": "t", "capabilities": ["chat", "x\u0000"]}
    error = refusal(frame("join", payload))
    assert error.code == "invalid_characters" and "capabilities.1" in error.message


def test_chat_text_may_hold_tabs_and_line_breaks_status_text_may_not() -> None:
    chat = decode(frame("chat", {"scope": "space", "text": "a\tb\nc\r\nd", "clientId": "c"}))
    assert isinstance(chat, Chat) and chat.text == "a\tb\nc\r\nd"
    for text in ("a\tb", "a\nb"):
        assert refusal(frame("status", {"status": "busy", "text": text})).code == (
            "invalid_characters"
        )
    status = decode(frame("status", {"status": "busy", "text": "\u202eünï 🙂"}))
    assert isinstance(status, SetStatus) and status.text == "\u202eünï 🙂"


def test_halves_of_utf16_pairs_never_get_through() -> None:
    """JSON can spell them; the parser refuses them before any model sees them."""
    text = '{"type":"chat","payload":{"scope":"space","text":"\\ud800","clientId":"c"}}'
    assert refusal(text).code == "invalid_json"


@pytest.mark.parametrize(
    ("payload", "client_id"),
    [
        ({"scope": "room", "text": "hi", "clientId": "c1", "roomId": "r\u0000"}, "c1"),
        ({"scope": "shout", "text": "hi", "clientId": "c1"}, "c1"),
        ({"scope": "space", "text": 5, "clientId": "c1"}, "c1"),
        ({"scope": "room", "text": "hi", "roomId": "r\u0000"}, None),
        ({"scope": "space", "text": "hi\u0000", "clientId": "c\u0000"}, None),
        ({"scope": "space", "text": "hi\u0000", "clientId": 7}, None),
        ({"scope": "space", "text": "hi\u0000", "clientId": ""}, None),
    ],
)
def test_a_refused_chat_message_keeps_a_valid_client_id(
    payload: dict[str, Any], client_id: str | None
) -> None:
    assert refusal(frame("chat", payload)).client_id == client_id


def test_other_refused_frames_have_no_client_id() -> None:
    error = refusal(frame("status", {"status": "busy", "text": "\u0000", "clientId": "c1"}))
    assert error.code == "invalid_characters" and error.client_id is None


def nested(depth: int) -> Any:
    data: Any = "leaf"
    for level in range(depth - 1):
        data = [data] if level % 2 else {"k": data}
    return data


def test_signaling_data_is_relayed_as_sent_up_to_a_depth() -> None:
    """`data` is never parsed, but it must be as writable as it was readable: the encoder
    stops at fewer levels (254) than the parser (1024)."""
    sdp = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n\u0000"}
    signal = decode(frame("video-call-signaling", {"to": "u1", "data": sdp}))
    assert isinstance(signal, Signal) and signal.data == sdp
    deepest = nested(MAX_SIGNAL_DEPTH)
    signal = decode(frame("video-call-signaling", {"to": "u1", "data": deepest}))
    assert isinstance(signal, Signal) and signal.data == deepest
    too_deep = frame("video-call-signaling", {"to": "u1", "data": nested(300)})
    error = refusal(too_deep)
    assert error.code == "invalid_message" and "nested" in error.message


def test_media_state_is_strict_booleans_and_screen_defaults_to_false() -> None:
    assert decode(frame("media-state", {"audio": False, "video": True})) == MediaState(
        audio=False, video=True, screen=False
    )
    shared = decode(frame("media-state", {"audio": True, "video": False, "screen": True}))
    assert shared == MediaState(audio=True, video=False, screen=True)
    for payload in ({"audio": 1, "video": True}, {"audio": True}, {"audio": True, "video": "no"}):
        assert refusal(frame("media-state", payload)).code == "invalid_message"
