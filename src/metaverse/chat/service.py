"""Chat over HTTP: posting to a room, deleting a message, reading history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.accounts.tokens import Principal
from metaverse.backends.eventlog import EventLogUnavailable
from metaverse.chat import history
from metaverse.chat.messages import ChatMessage, Scope, clean_text, conversation_of
from metaverse.chat.pipeline import ChatPipeline, Routing
from metaverse.chat.rooms import is_room_member, load_room
from metaverse.clock import Clock
from metaverse.db.ids import new_id
from metaverse.db.models import ChatMessage as ChatMessageRow
from metaverse.db.models import ChatRoom, ChatRoomMember, User
from metaverse.errors import Forbidden, InvalidInput, MetaverseError, NotFound
from metaverse.spaces.access import MANAGERS, check_enter, load_space, member_role


class Unavailable(MetaverseError):
    status = 503
    code = "unavailable"


def _limit(limit: int) -> int:
    if not 1 <= limit <= history.MAX_LIMIT:
        raise InvalidInput(f"limit is 1..{history.MAX_LIMIT}")
    return limit


async def post_to_room(
    session: AsyncSession,
    pipeline: ChatPipeline,
    clock: Clock,
    principal: Principal,
    room_id: str,
    text: str,
) -> dict[str, Any]:
    room = await load_room(session, principal, room_id)
    if not await is_room_member(session, room.id, principal.user_id):
        raise Forbidden("join the room to post in it", code="not_a_member")
    user = await session.get(User, principal.user_id)
    assert user is not None
    members = await session.scalars(
        select(ChatRoomMember.user_id).where(ChatRoomMember.room_id == room.id)
    )
    message = ChatMessage(
        id=new_id(),
        space_id=room.space_id,
        scope="room",
        conversation=conversation_of("room", room.space_id, sender_id=user.id, room_id=room.id),
        sender_id=user.id,
        sender_name=user.username,
        text=clean_text(text),
        ts_ms=round(clock.now() * 1000),
        room_id=room.id,
    )
    try:
        await pipeline.send(message, Routing(members=tuple(members)))
    except EventLogUnavailable as exc:
        raise Unavailable("the message could not be stored; try again") from exc
    return {"id": message.id, "ts": message.ts_ms}


async def delete_message(
    session: AsyncSession,
    pipeline: ChatPipeline,
    clock: Clock,
    principal: Principal,
    room_id: str,
    message_id: str,
) -> None:
    room = await load_room(session, principal, room_id)
    row = await session.get(ChatMessageRow, message_id)
    if row is None or row.room_id != room.id:
        raise NotFound("no message has that id in this room")
    allowed = (
        row.sender_id == principal.user_id
        or room.owner_id == principal.user_id
        or await member_role(session, room.space_id, principal.user_id) in MANAGERS
    )
    if not allowed:
        raise Forbidden("only the author, the room's owner or a space moderator may delete it")
    # The first deletion writes the tombstone (and who made it); later ones change nothing.
    await session.execute(
        update(ChatMessageRow)
        .where(ChatMessageRow.id == row.id, ChatMessageRow.deleted_at.is_(None))
        .values(
            deleted_at=datetime.fromtimestamp(clock.now(), UTC),
            deleted_by=principal.user_id,
            text="",
        )
    )
    await session.commit()
    await pipeline.announce_deletion(room.space_id, row.id)


async def room_history(
    session: AsyncSession, principal: Principal, room_id: str, *, before: str | None, limit: int
) -> dict[str, Any]:
    room: ChatRoom = await load_room(session, principal, room_id)  # hides others' private rooms
    return await history.page(session, f"room:{room.id}", before=before, limit=_limit(limit))


async def space_history(
    session: AsyncSession,
    principal: Principal,
    space_id: str,
    *,
    area: str | None,
    before: str | None,
    limit: int,
) -> dict[str, Any]:
    space = await load_space(session, space_id)
    await check_enter(session, space, principal)
    scope: Scope = "area" if area else "space"
    conversation = conversation_of(scope, space.id, sender_id=principal.user_id, area=area)
    return await history.page(session, conversation, before=before, limit=_limit(limit))


async def direct_history(
    session: AsyncSession, principal: Principal, other_id: str, *, before: str | None, limit: int
) -> dict[str, Any]:
    conversation = conversation_of("direct", "", sender_id=principal.user_id, to=other_id)
    return await history.page(session, conversation, before=before, limit=_limit(limit))
