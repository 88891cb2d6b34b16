"""Sending a chat message: durable append to the event log, then live delivery.

The order is the guarantee: a message is published for others only after the log has
made it durable, so nothing is shown that will not also be stored; the sender's ack
follows both. Live delivery is best effort (pub/sub); history is the log's.

A gateway delivers its own messages to the people connected to it itself, as soon as they
are stored, and publishes them marked with its `origin` for the other gateways; it skips
its own when pub/sub brings them back (`own_deliveries`). That saves every message's round
trip through pub/sub and its decoding, for the people most messages are for.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from metaverse.backends.eventlog import EventLog
from metaverse.backends.pubsub import PubSub
from metaverse.chat.messages import CHAT_TOPIC, ChatMessage
from metaverse.protocol.codec import dumps

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


@functools.cache
def own_deliveries(origin: str) -> bytes:
    """How every delivery published by `origin` begins."""
    return b'{"origin":' + dumps(origin) + b","


def delivery_bytes(
    message: ChatMessage,
    routing: Routing,
    record: bytes | None = None,
    *,
    origin: str | None = None,
) -> bytes:
    """`{"origin"?,"kind":"chat","message":<record>,"x","y","call","members"}`: the log
    `record` of `message` (encoded here if not given) spliced in as it is, not decoded and
    encoded again."""
    if record is None:
        record = message.to_bytes()
    head = b"{" if origin is None else own_deliveries(origin)
    hints = {
        "x": routing.x,
        "y": routing.y,
        "call": list(routing.call),
        "members": list(routing.members),
    }
    # The hints' object without its opening brace closes the delivery's object.
    tail = dumps(hints)
    return head + b'"kind":"chat","message":' + record + b"," + tail[1:]


def _published(message_id: str, done: Stored, published: asyncio.Future[None]) -> None:
    if not published.cancelled() and published.exception() is not None:
        # Stored already: it shows up in history even if live delivery fails.
        log.warning(
            "live delivery of chat message %s failed",
            message_id,
            exc_info=published.exception(),
        )
    done(None)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if isinstance(error, asyncio.CancelledError):
        future.cancel()
    elif error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def deletion_bytes(space_id: str, message_id: str) -> bytes:
    return dumps({"kind": "chat-deleted", "spaceId": space_id, "id": message_id})


Stored = Callable[[BaseException | None], None]


class ChatPipeline:
    """`origin` names the process that sends (a gateway), when it delivers its own messages
    to its own connections (`send_soon(here=...)`)."""

    def __init__(self, event_log: EventLog, pubsub: PubSub, *, origin: str | None = None) -> None:
        self._log = event_log
        self._pubsub = pubsub
        self.origin = origin

    async def send(self, message: ChatMessage, routing: Routing) -> None:
        """Append durably (raises `EventLogUnavailable` if it can't), then publish."""
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.send_soon(message, routing, done=functools.partial(_settle, sent))
        await sent

    def send_soon(
        self,
        message: ChatMessage,
        routing: Routing,
        *,
        done: Stored,
        here: Callable[[], None] | None = None,
    ) -> None:
        """`send` without a coroutine, for the gateway's thousands a second: the append
        starts now (so a conversation's messages keep the order of these calls); once it
        is durable, `here()` (this process's own delivery) is called and the message is
        published; then `done(None)`, or `done(error)` if the append failed."""
        record = message.to_bytes()
        appended = self._log.append_soon(CHAT_TOPIC, message.conversation.encode(), record)
        appended.add_done_callback(
            functools.partial(self._appended, message, routing, record, here, done)
        )

    def _appended(
        self,
        message: ChatMessage,
        routing: Routing,
        record: bytes,
        here: Callable[[], None] | None,
        done: Stored,
        appended: asyncio.Future[None],
    ) -> None:
        if appended.cancelled():
            done(asyncio.CancelledError())
            return
        error = appended.exception()
        if error is not None:
            done(error)
            return
        if here is not None:
            try:
                here()
            except Exception:  # stored already: it must still be published and acked
                log.exception("delivering chat message %s here failed", message.id)
        try:
            delivery = delivery_bytes(message, routing, record, origin=self.origin)
            published = self._pubsub.publish_soon(space_channel(message.space_id), delivery)
        except Exception:
            log.warning("live delivery of chat message %s failed", message.id, exc_info=True)
            done(None)
            return
        published.add_done_callback(functools.partial(_published, message.id, done))

    async def announce_deletion(self, space_id: str, message_id: str) -> None:
        try:
            await self._pubsub.publish(
                space_channel(space_id), deletion_bytes(space_id, message_id)
            )
        except Exception:
            log.warning("could not announce deletion of %s", message_id, exc_info=True)
