"""Spatial chat in the gateway: checking and sending a client's message, and delivering
messages from pub/sub to the right people on this gateway.

A connection's messages are checked one after the other as they are read, then stored
concurrently (up to MAX_IN_FLIGHT of them at once): one client's throughput is not bound
by the round trip of each append. Its replies (`chat-ack`, `chat-error`) still go out in
the order its messages came, and the appends of one conversation start in that order
(the log keeps each key in append order).

Recipients are chosen where they are connected, from routing hints the sender's gateway
put in the delivery (its cell, its call, a room's members), so gateways share no state.
The people connected to the sender's own gateway get a message straight from it once it
is stored (`_deliver_here`); the gateway skips its own deliveries when pub/sub brings them
back.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Final

from metaverse.accounts.ratelimit import TokenBucket
from metaverse.backends.eventlog import EventLogUnavailable
from metaverse.chat.messages import ChatMessage, clean_text, conversation_of
from metaverse.chat.pipeline import ChatPipeline, Routing
from metaverse.clock import Clock
from metaverse.core.ids import SpaceId, UserId
from metaverse.db.ids import new_id
from metaverse.errors import InvalidInput
from metaverse.gateway.bridge import SpaceBridge
from metaverse.gateway.connection import Connection
from metaverse.gateway.directory import Directory
from metaverse.gateway.host import SpaceHost
from metaverse.gateway.wire import CHAT
from metaverse.protocol import frames
from metaverse.protocol import messages as m
from metaverse.protocol.codec import encode, loads

# A space as chat sees it on this gateway: hosted here, or bridged to its host. Either way
# chat delivers only to the connections of this gateway.
ChatSpace = SpaceHost | SpaceBridge

log = logging.getLogger(__name__)


# A connection's messages being stored at once; while there are this many, its next
# message waits in the connection's inbox (and the frames behind it with it), so a
# client that floods (above its rate limit's burst) can't grow memory.
MAX_IN_FLIGHT: Final = 16


class ChatError(Exception):
    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


def _error_frame(client_id: str | None, error: ChatError) -> str:
    return encode(
        "chat-error",
        {
            "clientId": client_id,
            "code": error.code,
            "message": error.message,
            "retryable": error.retryable,
        },
    )


@dataclass(frozen=True, slots=True)
class _Lookups:
    """What the directory said, for the messages that need it."""

    member: bool = False  # a direct message's recipient is a member of the space
    room_members: Collection[str] | None = None  # None: no such room


class _Replies:
    """The replies one connection is owed, oldest first: each is sent once it and all
    before it are ready."""

    __slots__ = ("connection", "owed", "room")

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.owed: deque[asyncio.Future[str]] = deque()
        self.room: asyncio.Future[None] | None = None  # the inbox, waiting for a free place


class ChatRelay:
    def __init__(
        self,
        pipeline: ChatPipeline,
        directory: Directory,
        clock: Clock,
        spaces: Callable[[SpaceId], ChatSpace | None],
        *,
        radius_tiles: float,
    ) -> None:
        self._pipeline = pipeline
        self._spaces = spaces
        self._directory = directory
        self._clock = clock
        self._radius_tiles = radius_tiles
        self._replies: dict[Connection, _Replies] = {}  # connections with replies owed

    async def send(
        self, host: ChatSpace, connection: Connection, message: m.Chat, bucket: TokenBucket
    ) -> None:
        """Check one message and start storing it; it is answered (an ack, or a
        `chat-error` for every failure) after the connection's earlier messages. Waits
        for the directory (a direct message to someone not here, a room's members), and
        while MAX_IN_FLIGHT of the connection's messages are being stored."""
        replies = self._replies.get(connection)
        while replies is not None and len(replies.owed) >= MAX_IN_FLIGHT:
            replies.room = asyncio.get_running_loop().create_future()
            await replies.room
            replies = self._replies.get(connection)
        # Last, so that whether the recipient is here is not decided before a wait.
        lookups = await self._look_up(host, connection, message)
        self._start(host, connection, message, bucket, lookups)

    def send_now(
        self, host: ChatSpace, connection: Connection, message: m.Chat, bucket: TokenBucket
    ) -> bool:
        """`send`, when that needs no waiting (most messages): True once started; False,
        having done nothing, when it would wait (then `send` it)."""
        replies = self._replies.get(connection)
        if replies is not None and len(replies.owed) >= MAX_IN_FLIGHT:
            return False
        if self._needs_lookup(host, connection, message):
            return False
        self._start(host, connection, message, bucket, _Lookups())
        return True

    def _start(
        self,
        host: ChatSpace,
        connection: Connection,
        message: m.Chat,
        bucket: TokenBucket,
        lookups: _Lookups,
    ) -> None:
        client_id = message.client_id
        try:
            if client_id is None:
                raise ChatError("missing_client_id", "a chat message needs a clientId")
            if bucket.try_acquire() > 0:
                raise ChatError("rate_limited", "too many messages; slow down", retryable=True)
            chat, routing = self._prepare(host, connection, message, lookups)
        except ChatError as error:
            self._answer(connection, _error_frame(client_id, error))
            return
        replies = self._owe(connection)
        reply: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        replies.owed.append(reply)
        self._pipeline.send_soon(
            chat,
            routing,
            here=functools.partial(self._deliver_here, chat, routing),
            done=functools.partial(self._stored, replies, reply, chat, client_id),
        )

    def refuse(self, connection: Connection, client_id: str, code: str, message: str) -> None:
        """A chat frame that failed validation: `chat-error`, in turn with the other replies."""
        self._answer(connection, _error_frame(client_id, ChatError(code, message)))

    def _answer(self, connection: Connection, frame: str) -> None:
        """Send a reply that is ready now, behind the replies still owed."""
        replies = self._replies.get(connection)
        if replies is None:
            connection.send(frame)
            return
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        ready.set_result(frame)
        replies.owed.append(ready)

    def _stored(
        self,
        replies: _Replies,
        reply: asyncio.Future[str],
        chat: ChatMessage,
        client_id: str,
        error: BaseException | None,
    ) -> None:
        """`chat` is stored (and published), or not: its reply is ready."""
        if error is None:
            frame = encode(
                frames.CHAT_ACK, {"clientId": client_id, "id": chat.id, "ts": chat.ts_ms}
            )
        else:
            if not isinstance(error, EventLogUnavailable | asyncio.CancelledError):
                # A bug: the sender still hears.
                log.error("storing chat message %s failed", chat.id, exc_info=error)
            failure = ChatError(
                "unavailable", "the message could not be stored; try again", retryable=True
            )
            frame = _error_frame(client_id, failure)
        if not reply.done():
            reply.set_result(frame)
        self._flush(replies)

    def _owe(self, connection: Connection) -> _Replies:
        """The replies `connection` is owed, to add one."""
        replies = self._replies.get(connection)
        if replies is None:
            replies = self._replies[connection] = _Replies(connection)
        return replies

    def _flush(self, replies: _Replies) -> None:
        """Send the replies that are ready, oldest first, up to the first still pending."""
        owed = replies.owed
        while owed and owed[0].done():
            reply = owed.popleft()
            if reply.cancelled():  # the gateway is stopping
                continue
            replies.connection.send(reply.result())
        room = replies.room
        if room is not None and len(owed) < MAX_IN_FLIGHT:
            if not room.done():  # done: its reader was cancelled (the connection closed)
                room.set_result(None)
            replies.room = None
        if not owed and self._replies.get(replies.connection) is replies:
            del self._replies[replies.connection]

    @staticmethod
    def _needs_lookup(host: ChatSpace, connection: Connection, message: m.Chat) -> bool:
        if message.scope == "room":
            return message.room_id is not None
        if message.scope == "direct":
            to = message.to
            return (
                to is not None and to != connection.user_id and UserId(to) not in host.connections
            )
        return False

    async def _look_up(self, host: ChatSpace, connection: Connection, message: m.Chat) -> _Lookups:
        """What checking `message` needs from the directory."""
        if not self._needs_lookup(host, connection, message):
            return _Lookups()
        if message.scope == "room":
            assert message.room_id is not None
            return _Lookups(
                room_members=await self._directory.room_members(host.space_id, message.room_id)
            )
        assert message.to is not None
        return _Lookups(member=await self._directory.is_member(host.space_id, message.to))

    def _prepare(
        self, host: ChatSpace, connection: Connection, message: m.Chat, lookups: _Lookups
    ) -> tuple[ChatMessage, Routing]:
        user_id = connection.user_id
        assert user_id is not None
        try:
            text = clean_text(message.text)
        except InvalidInput as exc:
            raise ChatError(exc.code, exc.message) from exc
        space_id = host.space_id
        routing = Routing()
        area = None
        if message.scope == "nearby":
            x, y = host.space.position(user_id)
            call_id = host.space.call_of(user_id)
            call = host.space.call_members(call_id) if call_id is not None else ()
            routing = Routing(x=x, y=y, call=tuple(call))
        elif message.scope == "area":
            areas = [a.name for a in host.space.areas_of(user_id) if a.kind != "spawn"]
            if not areas:
                raise ChatError("not_in_area", "you are not standing in an area")
            area = areas[0]
        elif message.scope == "direct":
            if message.to is None:
                raise ChatError("missing_recipient", "a direct message needs `to`")
            present = UserId(message.to) in host.connections
            if message.to == user_id or not (present or lookups.member):
                raise ChatError("unknown_recipient", "that user is not in this space")
        elif message.scope == "room":
            if message.room_id is None:
                raise ChatError("missing_room", "a room message needs `roomId`")
            members = lookups.room_members
            if members is None:
                raise ChatError("unknown_room", "no such room in this space")
            if user_id not in members:
                raise ChatError("not_a_member", "you are not a member of that room")
            routing = Routing(members=tuple(members))
        profile = host.profile(user_id)
        chat = ChatMessage(
            id=new_id(),
            space_id=space_id,
            scope=message.scope,
            conversation=conversation_of(
                message.scope,
                space_id,
                sender_id=user_id,
                to=message.to,
                room_id=message.room_id,
                area=area,
            ),
            sender_id=user_id,
            sender_name=str(profile.get("username", "")),
            text=text,
            ts_ms=round(self._clock.now() * 1000),
            to=message.to if message.scope == "direct" else None,
            room_id=message.room_id if message.scope == "room" else None,
            area=area,
        )
        return chat, routing

    def deliver(self, host: ChatSpace, raw: bytes) -> None:
        """A delivery from pub/sub for `host`'s space: send it to who should see it here."""
        try:
            body: dict[str, Any] = loads(raw)
            if body.get("kind") == "chat-deleted":
                frame = encode(frames.CHAT_DELETED, {"id": str(body["id"])})
                for connection in host.connections.values():
                    if CHAT in connection.capabilities:
                        connection.send(frame)
                return
            data = body["message"]
            to, x, y = data.get("to"), body.get("x"), body.get("y")
            receivers = self._receivers(
                host,
                data["scope"],
                data["sender_id"],
                to=to if isinstance(to, str) else None,
                area=data.get("area"),
                members=[u for u in body.get("members", ()) if isinstance(u, str)],
                call=[u for u in body.get("call", ()) if isinstance(u, str)],
                at=(x, y) if isinstance(x, int) and isinstance(y, int) else None,
            )
            if not receivers:  # often so for `nearby`: not worth checking the message
                return
            chat = ChatMessage.from_dict(data)
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignoring a malformed chat delivery")
            return
        frame = encode(frames.CHAT_MESSAGE, chat.wire())
        for receiver in receivers:
            receiver.send(frame)

    def _deliver_here(self, chat: ChatMessage, routing: Routing) -> None:
        """A message sent through this gateway, stored: to who should see it here."""
        host = self._spaces(SpaceId(chat.space_id))
        if host is None:
            return
        x, y = routing.x, routing.y
        receivers = self._receivers(
            host,
            chat.scope,
            chat.sender_id,
            to=chat.to,
            area=chat.area,
            members=routing.members,
            call=routing.call,
            at=(x, y) if x is not None and y is not None else None,
        )
        if receivers:
            frame = encode(frames.CHAT_MESSAGE, chat.wire())
            for receiver in receivers:
                receiver.send(frame)

    def _receivers(
        self,
        host: ChatSpace,
        scope: str,
        sender_id: str,
        *,
        to: str | None,
        area: Any,
        members: Collection[str],
        call: Collection[str],
        at: tuple[int, int] | None,
    ) -> list[Connection]:
        """The connections here, with `chat`, that should get a message (not checked yet)."""
        space = host.space
        connections = host.connections
        if scope == "space":
            found = set(connections)
        elif scope == "direct":
            found = {UserId(to)} if to is not None else set()
        elif scope == "room":
            found = {UserId(u) for u in members}
        elif scope == "area":
            found = {u for u in connections if any(a.name == area for a in space.areas_of(u))}
        else:  # nearby: within the chat radius of the sender, or in the sender's call
            found = {UserId(u) for u in call}
            if at is not None:
                found.update(space.users_near(at[0], at[1], self._radius_tiles))
            # Do not disturb: direct, room and area messages still arrive, nearby ones don't.
            found = {u for u in found if u in space and space.status(u)[0] != "dnd"}
        found.discard(UserId(sender_id))
        return [
            receiver
            for receiver in map(connections.get, found)
            if isinstance(receiver, Connection) and CHAT in receiver.capabilities
        ]
