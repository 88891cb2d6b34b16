"""A chat message as it travels: validated text, a time-ordered id, and its conversation.

The same JSON bytes go to the event log (for storage) and, with routing hints, to
pub/sub (for live delivery). The server never builds HTML: text is stored as sent (line
breaks made newlines, trimmed), and clients render it as text. Text with control
characters other than tab and newline is refused, by the rule every string follows.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from metaverse.errors import InvalidInput
from metaverse.protocol.codec import dumps, loads
from metaverse.text import check_text

Scope = Literal["nearby", "area", "space", "direct", "room"]
SCOPES: Final[tuple[Scope, ...]] = ("nearby", "area", "space", "direct", "room")
MAX_TEXT_CHARS: Final = 2000
CHAT_TOPIC: Final = "chat.messages"
CHAT_DLQ_TOPIC: Final = "chat.messages.dlq"


# Line and paragraph separators become newlines, as does a carriage return (alone or
# before a newline): stored text has one kind of line break.
_LINE_BREAKS = re.compile("\r\n?|[\u2028\u2029]")


def clean_text(text: str) -> str:
    """Check the characters (`metaverse.text`, multiline: tab and newline allowed), make
    every line break a newline, trim, check 1-2000 characters."""
    try:
        check_text(text, multiline=True)
    except ValueError as exc:
        raise InvalidInput(f"a message {exc}", code="invalid_characters") from exc
    cleaned = _LINE_BREAKS.sub("\n", text).strip()
    if not cleaned:
        raise InvalidInput("a message needs some text", code="empty")
    if len(cleaned) > MAX_TEXT_CHARS:
        raise InvalidInput(f"a message has at most {MAX_TEXT_CHARS} characters", code="too_long")
    return cleaned


def conversation_of(
    scope: Scope,
    space_id: str,
    *,
    sender_id: str,
    to: str | None = None,
    room_id: str | None = None,
    area: str | None = None,
) -> str:
    """The ordered stream a message belongs to: its Kafka key and history key."""
    if scope == "room":
        return f"room:{room_id}"
    if scope == "direct":
        # One conversation per pair of people, whichever space they met in.
        low, high = sorted((sender_id, to or ""))
        return f"dm:{low}:{high}"
    if scope == "area":
        return f"area:{space_id}:{area}"
    return f"{scope}:{space_id}"


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__,
# five times as slow, and one is built for every message the gateway and consumer handle.
@dataclass(slots=True)
class ChatMessage:
    id: str
    space_id: str
    scope: Scope
    conversation: str
    sender_id: str
    sender_name: str
    text: str
    ts_ms: int
    to: str | None = None
    room_id: str | None = None
    area: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Every field, in declaration order (what `dataclasses.asdict` gives, without its
        recursive copying)."""
        return {
            "id": self.id,
            "space_id": self.space_id,
            "scope": self.scope,
            "conversation": self.conversation,
            "sender_id": self.sender_id,
            "sender_name": self.sender_name,
            "text": self.text,
            "ts_ms": self.ts_ms,
            "to": self.to,
            "room_id": self.room_id,
            "area": self.area,
        }

    def to_bytes(self) -> bytes:
        """The event log record (and the `message` of a live delivery)."""
        return dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatMessage:
        """Rebuild from the log; raises ValueError/KeyError/TypeError on a bad record.

        The consumer runs this for every record, so the usual case (a good record) is
        checked in one expression; only a bad one goes through the fields to say which."""
        scope = data["scope"]
        texts = _texts(data)
        ts_ms = data["ts_ms"]
        to, room_id, area = data.get("to"), data.get("room_id"), data.get("area")
        if not (
            scope in SCOPES
            and all(isinstance(value, str) and value for value in texts)
            and isinstance(ts_ms, int)
            and (to is None or isinstance(to, str))
            and (room_id is None or isinstance(room_id, str))
            and (area is None or isinstance(area, str))
        ):
            raise ValueError(_what_is_wrong(data))
        id_, space_id, conversation, sender_id, sender_name, text = texts
        # In declaration order: passing them by keyword makes the whole check a fifth slower.
        return cls(
            id_,
            space_id,
            scope,
            conversation,
            sender_id,
            sender_name,
            text,
            ts_ms,
            to,
            room_id,
            area,
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> ChatMessage:
        data = loads(raw)
        if not isinstance(data, dict):
            raise ValueError("a chat record is a JSON object")
        return cls.from_dict(data)

    def wire(self) -> dict[str, Any]:
        """The payload of the `chat` frame receivers get."""
        payload: dict[str, Any] = {
            "id": self.id,
            "scope": self.scope,
            "from": {"userId": self.sender_id, "username": self.sender_name},
            "text": self.text,
            "ts": self.ts_ms,
        }
        if self.room_id is not None:
            payload["roomId"] = self.room_id
        if self.area is not None:
            payload["area"] = self.area
        if self.to is not None:
            payload["to"] = self.to
        return payload


# The fields of a record that are non-empty text, and a getter of them all at once.
_TEXT_FIELDS: Final = ("id", "space_id", "conversation", "sender_id", "sender_name", "text")
_texts: Final = operator.itemgetter(*_TEXT_FIELDS)


def _what_is_wrong(data: dict[str, Any]) -> str:
    """Why `data` is not a chat record (its required keys are all there)."""
    if data["scope"] not in SCOPES:
        return f"unknown scope {data['scope']!r}"
    for name in _TEXT_FIELDS:
        if not isinstance(data[name], str) or not data[name]:
            return f"{name} must be a non-empty string"
    if not isinstance(data["ts_ms"], int):
        return "ts_ms must be an integer"
    return next(
        f"{name} must be a string"
        for name in ("to", "room_id", "area")
        if not isinstance(data.get(name), str | None)
    )
