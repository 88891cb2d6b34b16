"""Reading chat history: newest first, paged by a stable cursor (the message id, which is
unique and time-ordered, so new messages never shift a page)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.chat.messages import ChatMessage
from metaverse.db.models import ChatMessage as ChatMessageRow

MAX_LIMIT = 100


def message_view(row: ChatMessageRow) -> dict[str, Any]:
    """The same shape as the live `chat` frame, plus whether it was deleted."""
    message = ChatMessage(
        id=row.id,
        space_id=row.space_id,
        scope=row.scope,  # type: ignore[arg-type]  # the table's check constraint holds it
        conversation=row.conversation,
        sender_id=row.sender_id,
        sender_name=row.sender_name,
        text=row.text,
        ts_ms=row.ts_ms,
        to=row.recipient_id,
        room_id=row.room_id,
        area=row.area,
    )
    return {**message.wire(), "deleted": row.deleted_at is not None}


async def page(
    session: AsyncSession, conversation: str, *, before: str | None, limit: int
) -> dict[str, Any]:
    query = select(ChatMessageRow).where(ChatMessageRow.conversation == conversation)
    if before is not None:
        query = query.where(ChatMessageRow.id < before)
    rows = list(await session.scalars(query.order_by(ChatMessageRow.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "messages": [message_view(row) for row in rows],
        "nextCursor": rows[-1].id if more else None,
    }
