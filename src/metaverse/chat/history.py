"""Reading chat history: newest first, paged by a stable cursor (the message id, which is
unique and time-ordered, so new messages never shift a page)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.db.models import ChatMessage

MAX_LIMIT = 100


def message_view(row: ChatMessage) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id,
        "scope": row.scope,
        "from": {"userId": row.sender_id, "username": row.sender_name},
        "text": row.text,
        "ts": row.ts_ms,
        "deleted": row.deleted_at is not None,
    }
    if row.room_id is not None:
        view["roomId"] = row.room_id
    if row.area is not None:
        view["area"] = row.area
    if row.recipient_id is not None:
        view["to"] = row.recipient_id
    return view


async def page(
    session: AsyncSession, conversation: str, *, before: str | None, limit: int
) -> dict[str, Any]:
    query = select(ChatMessage).where(ChatMessage.conversation == conversation)
    if before is not None:
        query = query.where(ChatMessage.id < before)
    rows = list(await session.scalars(query.order_by(ChatMessage.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "messages": [message_view(row) for row in rows],
        "nextCursor": rows[-1].id if more else None,
    }
