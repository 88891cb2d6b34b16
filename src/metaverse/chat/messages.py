"""A chat message as it travels: validated text, a time-ordered id, and its conversation.

The same JSON bytes go to the event log (for storage) and, with routing hints, to
pub/sub (for live delivery). The server never builds HTML: text is stored verbatim once
control characters are removed, and clients render it as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from metaverse.errors import InvalidInput
from metaverse.protocol.codec import dumps, loads

Scope = Literal["nearby", "area", "space", "direct", "room"]
SCOPES: Final[tuple[Scope, ...]] = ("nearby", "area", "space", "direct", "room")
MAX_TEXT_CHARS: Final = 2000
CHAT_TOPIC: Final = "chat.messages"
CHAT_DLQ_TOPIC: Final = "chat.messages.dlq"


# C0 and C1 controls, DEL, and the Unicode line/paragraph separators; newline stays.
# Control characters other than newline, line and paragraph separators, and halves of
# UTF-16 pairs (which JSON can spell but no UTF-8 text can hold).
_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Trim, drop control characters other than newline (and lone surrogates), check
    1-2000 characters."""
    cleaned = _CONTROLS.sub("", text).strip()
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
        """Rebuild from the log; raises ValueError/KeyError/TypeError on a bad record."""
        scope = data["scope"]
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}")
        fields = {
            name: data[name]
            for name in (
                "id",
                "space_id",
                "conversation",
                "sender_id",
                "sender_name",
                "text",
                "ts_ms",
            )
        }
        for name in ("id", "space_id", "conversation", "sender_id", "sender_name", "text"):
            if not isinstance(fields[name], str) or not fields[name]:
                raise ValueError(f"{name} must be a non-empty string")
        if not isinstance(fields["ts_ms"], int):
            raise ValueError("ts_ms must be an integer")
        optional: dict[str, str | None] = {}
        for name in ("to", "room_id", "area"):
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string")
            optional[name] = value
        return cls(scope=scope, **fields, **optional)  # type: ignore[arg-type]

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
