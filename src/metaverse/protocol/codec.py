"""Decoding client frames and encoding server frames."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from metaverse.protocol.messages import CLIENT_MESSAGES, ClientMessage


class ProtocolError(Exception):
    """A frame that cannot be acted on; answered with `error {code, message}`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def decode(text: str | bytes) -> ClientMessage:
    """Parse one client frame, or raise `ProtocolError` saying what is wrong with it."""
    if isinstance(text, bytes):
        raise ProtocolError("invalid_frame", "frames are JSON text, not binary")
    try:
        frame = json.loads(text)
    except ValueError:
        raise ProtocolError("invalid_json", "the frame is not valid JSON") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise ProtocolError("invalid_frame", 'a frame is {"type": ..., "payload": {...}}')
    model = CLIENT_MESSAGES.get(frame["type"])
    if model is None:
        raise ProtocolError("unknown_type", f"unknown message type {frame['type'][:64]!r}")
    payload = frame.get("payload", {})
    if not isinstance(payload, dict):
        raise ProtocolError("invalid_message", "payload must be an object")
    try:
        message: ClientMessage = model.model_validate(payload)  # type: ignore[assignment]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        raise ProtocolError(
            "invalid_message", f"{frame['type']}: {where}: {first['msg']}"
        ) from None
    return message


def encode(type_: str, payload: dict[str, Any]) -> str:
    return json.dumps({"type": type_, "payload": payload}, separators=(",", ":"))
