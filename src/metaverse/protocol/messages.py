"""Client → server messages. Frames are JSON text `{"type": ..., "payload": {...}}`.

Rule for unknown fields: ignored, so newer clients keep working against older servers.
Types are strict: `"1"` is not a number and `1.5` is not a cell.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_FRAME_BYTES = 64 * 1024
STATUSES = ("available", "busy", "away", "dnd")

Status = Literal["available", "busy", "away", "dnd"]
Cell = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
ShortText = Annotated[str, StringConstraints(max_length=64)]


class Payload(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class Viewport(Payload):
    x: Cell
    y: Cell
    width: Annotated[int, Field(ge=1, le=500)]
    height: Annotated[int, Field(ge=1, le=500)]


class Join(Payload):
    space_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        alias="spaceId"
    )
    token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    capabilities: Annotated[list[ShortText], Field(max_length=32)] = Field(default_factory=list)
    viewport: Viewport | None = None


class Move(Payload):
    x: Cell
    y: Cell


class Leave(Payload):
    pass


class Signal(Payload):
    """`video-call-signaling`: `data` is an SDP or ICE candidate as the browser serialises
    it. It is relayed untouched and never parsed (the frame limit bounds its size)."""

    to: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    data: Any


class SetStatus(Payload):
    status: Status
    text: Annotated[str, StringConstraints(max_length=140)] | None = None


class Chat(Payload):
    """`chat`: `clientId` is the sender's own id for matching `chat-ack`/`chat-error`.
    It is optional here so that its absence is answered with `chat-error`, not `error`."""

    scope: Literal["nearby", "area", "space", "direct", "room"]
    text: Annotated[str, StringConstraints(max_length=20_000)]
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        None, alias="clientId"
    )
    to: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    room_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        None, alias="roomId"
    )


ClientMessage = Join | Move | Leave | Signal | SetStatus | Viewport | Chat

# The wire name of each client message, and the model of its payload.
CLIENT_MESSAGES: dict[str, type[Payload]] = {
    "join": Join,
    "move": Move,
    "leave": Leave,
    "video-call-signaling": Signal,
    "status": SetStatus,
    "viewport": Viewport,
    "chat": Chat,
}
WIRE_NAMES: dict[type[Payload], str] = {model: name for name, model in CLIENT_MESSAGES.items()}
