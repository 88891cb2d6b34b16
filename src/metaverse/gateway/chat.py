"""Spatial chat in the gateway: checking and sending a client's message, and delivering
messages from pub/sub to the right people on this gateway.

Recipients are chosen where they are connected, from routing hints the sender's gateway
put in the delivery (its cell, its call, a room's members), so gateways share no state.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from metaverse.accounts.ratelimit import TokenBucket
from metaverse.backends.eventlog import EventLogUnavailable
from metaverse.chat.messages import ChatMessage, clean_text, conversation_of
from metaverse.chat.pipeline import ChatPipeline, Routing
from metaverse.clock import Clock
from metaverse.core.ids import UserId
from metaverse.db.ids import new_id
from metaverse.errors import InvalidInput
from metaverse.gateway.connection import Connection
from metaverse.gateway.directory import Directory
from metaverse.gateway.host import SpaceHost
from metaverse.gateway.wire import CHAT
from metaverse.protocol import messages as m
from metaverse.protocol.codec import encode

log = logging.getLogger(__name__)


class ChatError(Exception):
    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


class ChatRelay:
    def __init__(
        self, pipeline: ChatPipeline, directory: Directory, clock: Clock, *, radius_tiles: float
    ) -> None:
        self._pipeline = pipeline
        self._directory = directory
        self._clock = clock
        self._radius_tiles = radius_tiles

    async def send(
        self, host: SpaceHost, connection: Connection, message: m.Chat, bucket: TokenBucket
    ) -> None:
        """Check, send and acknowledge one message; every failure is a `chat-error`."""
        client_id = message.client_id
        try:
            if client_id is None:
                raise ChatError("missing_client_id", "a chat message needs a clientId")
            if bucket.try_acquire() > 0:
                raise ChatError("rate_limited", "too many messages; slow down", retryable=True)
            chat, routing = await self._prepare(host, connection, message)
            try:
                await self._pipeline.send(chat, routing)
            except EventLogUnavailable as exc:
                raise ChatError(
                    "unavailable", "the message could not be stored; try again", retryable=True
                ) from exc
        except ChatError as error:
            connection.send(
                encode(
                    "chat-error",
                    {
                        "clientId": client_id,
                        "code": error.code,
                        "message": error.message,
                        "retryable": error.retryable,
                    },
                )
            )
            return
        connection.send(
            encode("chat-ack", {"clientId": client_id, "id": chat.id, "ts": chat.ts_ms})
        )

    async def _prepare(
        self, host: SpaceHost, connection: Connection, message: m.Chat
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
            if message.to == user_id or not (
                present or await self._directory.is_member(space_id, message.to)
            ):
                raise ChatError("unknown_recipient", "that user is not in this space")
        elif message.scope == "room":
            if message.room_id is None:
                raise ChatError("missing_room", "a room message needs `roomId`")
            members = await self._directory.room_members(space_id, message.room_id)
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

    def deliver(self, host: SpaceHost, raw: bytes) -> None:
        """A delivery from pub/sub for `host`'s space: send it to who should see it here."""
        try:
            body: dict[str, Any] = json.loads(raw)
            if body.get("kind") == "chat-deleted":
                frame = encode("chat-deleted", {"id": str(body["id"])})
                for connection in host.connections.values():
                    if CHAT in connection.capabilities:
                        connection.send(frame)
                return
            chat = ChatMessage.from_dict(body["message"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed chat delivery")
            return
        frame = encode("chat", chat.wire())
        for user_id in self._recipients(host, chat, body):
            receiver = host.connections.get(user_id)
            if receiver is not None and CHAT in receiver.capabilities:
                receiver.send(frame)

    def _recipients(self, host: SpaceHost, chat: ChatMessage, body: dict[str, Any]) -> set[UserId]:
        space = host.space
        if chat.scope == "space":
            found = set(host.connections)
        elif chat.scope == "direct":
            found = {UserId(chat.to)} if chat.to else set()
        elif chat.scope == "room":
            found = {UserId(u) for u in body.get("members", ()) if isinstance(u, str)}
        elif chat.scope == "area":
            found = {
                u for u in host.connections if any(a.name == chat.area for a in space.areas_of(u))
            }
        else:  # nearby: within the chat radius of the sender, or in the sender's call
            found = {UserId(u) for u in body.get("call", ()) if isinstance(u, str)}
            x, y = body.get("x"), body.get("y")
            if isinstance(x, int) and isinstance(y, int):
                found.update(space.users_near(x, y, self._radius_tiles))
            # Do not disturb: direct, room and area messages still arrive, nearby ones don't.
            found = {u for u in found if u in space and space.status(u)[0] != "dnd"}
        found.discard(UserId(chat.sender_id))
        return {u for u in found if u in host.connections}
