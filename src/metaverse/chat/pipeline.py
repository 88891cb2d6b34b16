"""Sending a chat message: durable append to the event log, then live delivery.

The order is the guarantee: a message is published for others only after the log has
made it durable, so nothing is shown that will not also be stored; the sender's ack
follows both. Live delivery is best effort (pub/sub); history is the log's.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from metaverse.backends.eventlog import EventLog
from metaverse.backends.pubsub import PubSub
from metaverse.chat.messages import CHAT_TOPIC, ChatMessage
from metaverse.protocol.codec import COMPACT_JSON

log = logging.getLogger(__name__)


def space_channel(space_id: str) -> str:
    return f"space:{space_id}"


@dataclass(frozen=True, slots=True)
class Routing:
    """What receiving gateways need to pick recipients without shared state."""

    x: int | None = None  # the sender's cell, for `nearby`
    y: int | None = None
    call: tuple[str, ...] = ()  # the sender's call members, for `nearby`
    members: tuple[str, ...] = field(default_factory=tuple)  # room members, for `room`


def delivery_bytes(message: ChatMessage, routing: Routing, record: bytes | None = None) -> bytes:
    """`{"kind":"chat","message":<record>,"x","y","call","members"}`: the log `record` of
    `message` (encoded here if not given) spliced in as it is, not decoded and encoded again."""
    if record is None:
        record = message.to_bytes()
    hints = {
        "x": routing.x,
        "y": routing.y,
        "call": list(routing.call),
        "members": list(routing.members),
    }
    # The hints' object without its opening brace closes the delivery's object.
    tail = COMPACT_JSON.encode(hints).encode()
    return b'{"kind":"chat","message":' + record + b"," + tail[1:]


def deletion_bytes(space_id: str, message_id: str) -> bytes:
    return json.dumps({"kind": "chat-deleted", "spaceId": space_id, "id": message_id}).encode()


class ChatPipeline:
    def __init__(self, event_log: EventLog, pubsub: PubSub) -> None:
        self._log = event_log
        self._pubsub = pubsub

    async def send(self, message: ChatMessage, routing: Routing) -> None:
        """Append durably (raises `EventLogUnavailable` if it can't), then publish."""
        record = message.to_bytes()
        await self._log.append(CHAT_TOPIC, message.conversation.encode(), record)
        try:
            await self._pubsub.publish(
                space_channel(message.space_id), delivery_bytes(message, routing, record)
            )
        except Exception:  # stored already: it shows up in history even if live delivery fails
            log.warning("live delivery of chat message %s failed", message.id, exc_info=True)

    async def announce_deletion(self, space_id: str, message_id: str) -> None:
        try:
            await self._pubsub.publish(
                space_channel(space_id), deletion_bytes(space_id, message_id)
            )
        except Exception:
            log.warning("could not announce deletion of %s", message_id, exc_info=True)
