"""Chat messages for tests: a valid `space` message unless told otherwise."""

from __future__ import annotations

from typing import Any

from metaverse.chat.messages import ChatMessage
from metaverse.db.ids import new_id


def chat(space_id: str, text: str = "hi", **overrides: Any) -> ChatMessage:
    values: dict[str, Any] = {
        "id": new_id(),
        "space_id": space_id,
        "scope": "space",
        "conversation": f"space:{space_id}",
        "sender_id": "u1",
        "sender_name": "ada",
        "text": text,
        "ts_ms": 1_700_000_000_000,
    }
    values.update(overrides)
    return ChatMessage(**values)
