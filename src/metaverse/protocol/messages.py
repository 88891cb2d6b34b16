"""Client → server messages. Frames are JSON text `{"type": ..., "payload": {...}}`.

Rule for unknown fields: ignored, so newer clients keep working against older servers.
Types are strict: `"1"` is not a number and `1.5` is not a cell. Every string follows the
platform's character rule (`metaverse.text`): one holding a control character (chat text
may hold tab and newline) fails validation with the error type `invalid_characters`, so
the frame is refused before anything acts on it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from metaverse.text import check_text

MAX_FRAME_BYTES = 64 * 1024
# How deeply signaling `data` may nest: far more than an SDP or ICE candidate needs, and
# far less than the encoder writes (orjson stops at 254 levels, its parser at 1024).
MAX_SIGNAL_DEPTH = 32
STATUSES = ("available", "busy", "away", "dnd")


def _single_line(text: str) -> str:
    return _checked(text, multiline=False)


def _multiline(text: str) -> str:
    return _checked(text, multiline=True)


def _checked(text: str, *, multiline: bool) -> str:
    try:
        return check_text(text, multiline=multiline)
    except ValueError as exc:
        raise PydanticCustomError("invalid_characters", str(exc)) from None


def _relayable(data: Any) -> Any:
    """`data` unchanged if it nests at most MAX_SIGNAL_DEPTH levels (scalars count)."""
    level, depth = [data], 0
    while level:
        depth += 1
        if depth > MAX_SIGNAL_DEPTH:
            raise PydanticCustomError(
                "too_deep", "nested more than {limit} levels", {"limit": MAX_SIGNAL_DEPTH}
            )
        level = [
            inner
            for value in level
            if isinstance(value, dict | list)
            for inner in (value.values() if isinstance(value, dict) else value)
        ]
    return data


# The character rule, for every string of every client message.
TEXT_RULE = AfterValidator(_single_line)

Status = Literal["available", "busy", "away", "dnd"]
Cell = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
ShortText = Annotated[str, StringConstraints(max_length=64), TEXT_RULE]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64), TEXT_RULE]


class Payload(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class Viewport(Payload):
    x: Cell
    y: Cell
    width: Annotated[int, Field(ge=1, le=500)]
    height: Annotated[int, Field(ge=1, le=500)]


class Resume(Payload):
    """Where a reconnecting client stood: honoured when that cell is legal and free."""

    x: Cell
    y: Cell


class Join(Payload):
    space_id: Id = Field(alias="spaceId")
    token: Annotated[str, StringConstraints(min_length=1, max_length=4096), TEXT_RULE]
    capabilities: Annotated[list[ShortText], Field(max_length=32)] = Field(default_factory=list)
    viewport: Viewport | None = None
    resume: Resume | None = None


class Move(Payload):
    x: Cell
    y: Cell


class Leave(Payload):
    pass


class Signal(Payload):
    """`video-call-signaling`: `data` is an SDP or ICE candidate as the browser serialises
    it. It is relayed untouched and never parsed (the frame limit bounds its size, and
    MAX_SIGNAL_DEPTH its nesting); its strings are the browser's (an SDP holds line
    breaks), and nothing stores them."""

    to: Id
    data: Annotated[Any, AfterValidator(_relayable)]


class Wave(Payload):
    """`wave`: call someone over (the `social` capability)."""

    to: Id


class MediaState(Payload):
    """`media-state`: whether the sender's microphone and camera are on, and whether it
    shares its screen; relayed to the members of its call."""

    audio: bool
    video: bool
    screen: bool = False


class SetStatus(Payload):
    status: Status
    text: Annotated[str, StringConstraints(max_length=140), TEXT_RULE] | None = None


class Chat(Payload):
    """`chat`: `clientId` is the sender's own id for matching `chat-ack`/`chat-error`.
    It is optional here so that its absence is answered with `chat-error`, not `error`."""

    scope: Literal["nearby", "area", "space", "direct", "room"]
    # Tab and newline are allowed; `clean_text` then normalises line breaks and trims.
    text: Annotated[str, StringConstraints(max_length=20_000), AfterValidator(_multiline)]
    client_id: Id | None = Field(None, alias="clientId")
    to: Id | None = None
    room_id: Id | None = Field(None, alias="roomId")


ClientMessage = Join | Move | Leave | Signal | MediaState | SetStatus | Viewport | Chat | Wave

# The wire name of each client message, and the model of its payload.
CLIENT_MESSAGES: dict[str, type[Payload]] = {
    "join": Join,
    "move": Move,
    "leave": Leave,
    "video-call-signaling": Signal,
    "media-state": MediaState,
    "status": SetStatus,
    "viewport": Viewport,
    "chat": Chat,
    "wave": Wave,
}
WIRE_NAMES: dict[type[Payload], str] = {model: name for name, model in CLIENT_MESSAGES.items()}
