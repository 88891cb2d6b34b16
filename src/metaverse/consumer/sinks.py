"""Turning log records into rows. Each sink parses a batch, inserts the good records with
`ON CONFLICT DO NOTHING` on their id (a replayed record inserts nothing) and returns the
ones it could not take, with the reason, for the dead-letter topic."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.backends.eventlog import Record
from metaverse.chat.messages import ChatMessage
from metaverse.db.models import ChatMessage as ChatMessageRow
from metaverse.db.models import SpaceEvent

Rejected = list[tuple[Record, str]]


def _insert_ignore(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> Any:
    """One multi-row INSERT that skips ids already stored.

    One statement rather than executemany: with aiosqlite every row of an executemany
    crosses back into the busy event loop's thread (GIL hand-offs of ~5 ms each), which
    made the in-process consumer fall far behind under load.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).values(rows).on_conflict_do_nothing(index_elements=["id"])
    if dialect == "sqlite":
        return sqlite.insert(model).values(rows).on_conflict_do_nothing(index_elements=["id"])
    return insert(model).values(rows)  # pragma: no cover - only the two supported databases


# Rows per statement: 11 columns x 1000 stays under both databases' bound-parameter limits.
ROWS_PER_STATEMENT = 1000


def chat_row(record: Record) -> dict[str, Any]:
    message = ChatMessage.from_bytes(record.value)
    return {
        "id": message.id,
        "space_id": message.space_id,
        "scope": message.scope,
        "conversation": message.conversation,
        "room_id": message.room_id,
        "area": message.area,
        "sender_id": message.sender_id,
        "sender_name": message.sender_name,
        "recipient_id": message.to,
        "text": message.text,
        "ts_ms": message.ts_ms,
    }


def event_row(record: Record) -> dict[str, Any]:
    data = json.loads(record.value)
    if not isinstance(data, dict):
        raise ValueError("an event record is a JSON object")
    for name in ("id", "spaceId", "kind"):
        if not isinstance(data.get(name), str):
            raise ValueError(f"{name} must be a string")
    if not isinstance(data.get("ts"), int):
        raise ValueError("ts must be an integer")
    return {
        "id": data["id"],
        "space_id": data["spaceId"],
        "kind": data["kind"],
        "user_id": data.get("user_id"),
        "call_id": data.get("call_id"),
        "ts_ms": data["ts"],
        "data": record.value.decode(),
    }


async def write(
    session: AsyncSession, model: Any, records: Sequence[Record], to_row: Any
) -> tuple[int, Rejected]:
    """Insert what parses; returns (newest `ts_ms` offered or 0, rejected records)."""
    rows: list[dict[str, Any]] = []
    kept: list[Record] = []
    rejected: Rejected = []
    for record in records:
        try:
            rows.append(to_row(record))
            kept.append(record)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            rejected.append((record, f"unparseable: {exc}"))
    if not rows:
        return 0, rejected
    newest_ms = max(row["ts_ms"] for row in rows)
    try:
        async with session.begin_nested():
            for start in range(0, len(rows), ROWS_PER_STATEMENT):
                chunk = rows[start : start + ROWS_PER_STATEMENT]
                await session.execute(_insert_ignore(session, model, chunk))
    except IntegrityError:
        # Some row breaks a constraint (its space was deleted, say): find which, one by one.
        for row, record in zip(rows, kept, strict=True):
            try:
                async with session.begin_nested():
                    await session.execute(_insert_ignore(session, model, [row]))
            except IntegrityError as exc:
                rejected.append((record, f"rejected by the database: {type(exc.orig).__name__}"))
    return newest_ms, rejected


async def write_chat(session: AsyncSession, records: Sequence[Record]) -> tuple[int, Rejected]:
    return await write(session, ChatMessageRow, records, chat_row)


async def write_events(session: AsyncSession, records: Sequence[Record]) -> tuple[int, Rejected]:
    return await write(session, SpaceEvent, records, event_row)
