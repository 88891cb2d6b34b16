"""Server → client frames: the one catalogue of their names and the capabilities that bring
them, which `docs/protocol.md`'s table and the browser's `web/protocol.js` mirror (a test
holds the three to each other). Code that sends a frame names it from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Capabilities a client asks for in `join` (docs/protocol.md, "Compatibility").
PROFILES: Final = "profiles"
PROXIMITY: Final = "proximity"
PRESENCE: Final = "presence"
INTEREST: Final = "interest"
BATCH: Final = "batch"
CHAT: Final = "chat"
LIVE: Final = "live"
SOCIAL: Final = "social"
CAPABILITIES: Final = (PROFILES, PROXIMITY, PRESENCE, INTEREST, BATCH, CHAT, LIVE, SOCIAL)


@dataclass(frozen=True, slots=True)
class ServerFrame:
    """A frame type; a client receives it only with every one of `needs`."""

    name: str
    needs: tuple[str, ...] = ()


SPACE_JOINED: Final = "space-joined"
USER_JOINED: Final = "user-joined"
MOVEMENT: Final = "movement"
MOVEMENT_REJECTED: Final = "movement-rejected"
USER_LEFT: Final = "user-left"
ERROR: Final = "error"
STATUS: Final = "status"
INTEREST_ENTER: Final = "interest-enter"
INTEREST_LEAVE: Final = "interest-leave"
CALL_JOINED: Final = "call-joined"
CALL_PEER_JOINED: Final = "call-peer-joined"
CALL_PEER_LEFT: Final = "call-peer-left"
CALL_LEFT: Final = "call-left"
CALL_FULL: Final = "call-full"
SIGNALING: Final = "video-call-signaling"
SIGNAL_REJECTED: Final = "signal-rejected"
MEDIA_STATE: Final = "media-state"
BATCH_FRAME: Final = "batch"
CHAT_MESSAGE: Final = "chat"
CHAT_ACK: Final = "chat-ack"
CHAT_ERROR: Final = "chat-error"
CHAT_DELETED: Final = "chat-deleted"
PROFILE: Final = "profile"
MAP_CHANGED: Final = "map-changed"
CHAT_GAP: Final = "chat-gap"
SPACE_CONNECTION: Final = "space-connection"
WAVE: Final = "wave"

SERVER_FRAMES: Final[dict[str, ServerFrame]] = {
    frame.name: frame
    for frame in (
        ServerFrame(SPACE_JOINED),
        ServerFrame(USER_JOINED),
        ServerFrame(MOVEMENT),
        ServerFrame(MOVEMENT_REJECTED),
        ServerFrame(USER_LEFT),
        ServerFrame(ERROR),
        ServerFrame(STATUS, (PRESENCE,)),
        ServerFrame(INTEREST_ENTER, (INTEREST,)),
        ServerFrame(INTEREST_LEAVE, (INTEREST,)),
        ServerFrame(CALL_JOINED, (PROXIMITY,)),
        ServerFrame(CALL_PEER_JOINED, (PROXIMITY,)),
        ServerFrame(CALL_PEER_LEFT, (PROXIMITY,)),
        ServerFrame(CALL_LEFT, (PROXIMITY,)),
        ServerFrame(CALL_FULL, (PROXIMITY,)),
        ServerFrame(SIGNALING, (PROXIMITY,)),
        ServerFrame(SIGNAL_REJECTED),
        ServerFrame(MEDIA_STATE, (PROXIMITY,)),
        ServerFrame(BATCH_FRAME, (BATCH,)),
        ServerFrame(CHAT_MESSAGE, (CHAT,)),
        ServerFrame(CHAT_ACK, (CHAT,)),
        ServerFrame(CHAT_ERROR, (CHAT,)),
        ServerFrame(CHAT_DELETED, (CHAT,)),
        ServerFrame(PROFILE, (LIVE,)),
        ServerFrame(MAP_CHANGED, (LIVE,)),
        ServerFrame(CHAT_GAP, (LIVE, CHAT)),
        ServerFrame(SPACE_CONNECTION, (LIVE,)),
        ServerFrame(WAVE, (SOCIAL,)),
    )
}


def capability_of(name: str) -> str | None:
    """The one capability frame `name` needs (None: every client gets it)."""
    needs = SERVER_FRAMES[name].needs
    if len(needs) > 1:
        raise ValueError(f"{name} needs {needs}: check each")
    return needs[0] if needs else None
