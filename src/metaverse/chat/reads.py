"""Read positions: how far each user has read each conversation, and what is unread.

A position is the id of the newest message the user has seen; ids are time-ordered, so
"unread" is "from someone else, after the position". A position only moves forward: the
upsert's own condition keeps the newer id when two tabs report at once.

Conversations are named as the browser names them (`space`, `area:<name>`,
`room:<roomId>`, `direct:<other userId>`) on the way out. Direct and room conversations
count as unread from their first message; the space and its areas only once the user
has read them (so a newcomer is not greeted by the whole history).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.accounts.tokens import Principal
from metaverse.chat.rooms import is_room_member, load_room
from metaverse.db.models import ChatMessage, ChatRead, ChatRoom, ChatRoomMember
from metaverse.errors import UnknownId
from metaverse.spaces.access import check_enter, load_space

#: Unread counts stop here; the browser shows "99+" past 99.
MAX_UNREAD = 100


def key_of(conversation: str, space_id: str, user_id: str) -> str | None:
    """The browser's name for a stored conversation seen from `space_id`, or None."""
    if conversation == f"space:{space_id}":
        return "space"
    if conversation.startswith(f"area:{space_id}:"):
        return f"area:{conversation[len(space_id) + 6 :]}"
    if conversation.startswith("room:"):
        return conversation
    if conversation.startswith("dm:"):
        _, low, high = conversation.split(":", 2)
        return f"direct:{high if low == user_id else low}"
    return None


async def _check_may_read(session: AsyncSession, principal: Principal, row: ChatMessage) -> None:
    if row.scope == "direct":
        if principal.user_id not in (row.sender_id, row.recipient_id):
            raise UnknownId("no stored message has that id")
    elif row.scope == "room" and row.room_id is not None:
        await load_room(session, principal, row.room_id)
    elif row.scope in ("space", "area"):
        await check_enter(session, await load_space(session, row.space_id), principal)
    else:  # nearby: nobody but its listeners at the time had it; it keeps no position
        raise UnknownId("nearby messages have no read position")


async def do_mark_read(
    session: AsyncSession, principal: Principal, message_id: str, *, now: datetime
) -> dict[str, Any]:
    """Move the caller's position in the message's conversation up to `message_id`."""
    row = await session.get(ChatMessage, message_id)
    if row is None:
        raise UnknownId("no stored message has that id")
    await _check_may_read(session, principal, row)
    table: Table = ChatRead.__table__  # type: ignore[assignment]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(
        user_id=principal.user_id,
        conversation=row.conversation,
        message_id=message_id,
        updated_at=now,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.user_id, table.c.conversation],
            set_={"message_id": statement.excluded.message_id, "updated_at": now},
            where=table.c.message_id < statement.excluded.message_id,
        )
    )
    await session.commit()
    position = await session.scalar(
        select(ChatRead.message_id).where(
            ChatRead.user_id == principal.user_id, ChatRead.conversation == row.conversation
        )
    )
    return {
        "key": key_of(row.conversation, row.space_id, principal.user_id),
        "messageId": position,
    }


async def _unread_count(
    session: AsyncSession, conversation: str, user_id: str, after: str | None
) -> int:
    query = select(ChatMessage.id).where(
        ChatMessage.conversation == conversation,
        ChatMessage.sender_id != user_id,
        ChatMessage.deleted_at.is_(None),
    )
    if after is not None:
        query = query.where(ChatMessage.id > after)
    counted = await session.scalar(
        select(func.count()).select_from(query.limit(MAX_UNREAD).subquery())
    )
    return int(counted or 0)


async def list_unread(session: AsyncSession, principal: Principal, space_id: str) -> dict[str, Any]:
    """The caller's position and unread count in each conversation they have in the space."""
    space = await load_space(session, space_id)
    await check_enter(session, space, principal)
    me = principal.user_id
    rows = await session.execute(
        select(ChatRead.conversation, ChatRead.message_id).where(ChatRead.user_id == me)
    )
    positions: dict[str, str | None] = {conversation: at for conversation, at in rows}
    # Conversations that count from their first message: my rooms here, my direct ones.
    rooms = await session.scalars(
        select(ChatRoom.id)
        .join(ChatRoomMember, ChatRoomMember.room_id == ChatRoom.id)
        .where(ChatRoom.space_id == space.id, ChatRoomMember.user_id == me)
    )
    direct = await session.scalars(
        select(ChatMessage.conversation)
        .where(ChatMessage.recipient_id == me, ChatMessage.scope == "direct")
        .distinct()
    )
    for conversation in [*(f"room:{r}" for r in rooms), *direct]:
        positions.setdefault(conversation, None)
    answer = []
    for conversation, after in sorted(positions.items()):
        key = key_of(conversation, space.id, me)
        if key is None:
            continue
        if conversation.startswith("room:"):
            room = await session.get(ChatRoom, conversation[5:])
            if room is None or room.space_id != space.id:
                continue
            if room.private and not await is_room_member(session, room.id, me):
                continue  # left since: no longer theirs to read
        count = await _unread_count(session, conversation, me, after)
        answer.append({"key": key, "messageId": after, "unread": count})
    return {"conversations": answer}
