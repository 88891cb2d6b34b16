"""Turning log records into rows. Each sink parses a batch, inserts the good records with
`ON CONFLICT DO NOTHING` on their id (a replayed record inserts nothing) and returns the
ones it could not take, with the reason, for the dead-letter topic."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, TextClause, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from metaverse.backends.eventlog import Record
from metaverse.chat.messages import ChatMessage
from metaverse.db.models import Base, SpaceEvent
from metaverse.db.models import ChatMessage as ChatMessageRow

Rejected = list[tuple[Record, str]]


class BulkInsert:
    """Inserting many rows of one table at once, skipping ids already stored.

    Built once per table, so that no statement is compiled per batch (compiling a
    multi-row VALUES statement cost ~200 µs of CPU per row, most of the consumer's time):

    - PostgreSQL: one `INSERT ... SELECT * FROM unnest(<one array per column>)`, the same
      statement text (and prepared statement) whatever the batch size, and the cheapest
      for the server too (about half the time of an executemany);
    - SQLite: an executemany, which sqlite3 runs in C on aiosqlite's thread in one hop.
    """

    def __init__(self, table: Table, columns: tuple[str, ...]) -> None:
        self.columns = columns
        pg = postgresql.dialect()  # type: ignore[no-untyped-call]
        quote = pg.identifier_preparer.quote
        arrays = ", ".join(
            f"CAST(:{name} AS {table.c[name].type.compile(dialect=pg)}[])" for name in columns
        )
        # Names from the model, quoted; every value is a bound parameter.
        self._unnest: TextClause = text(
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)})"  # noqa: S608
            f" SELECT * FROM unnest({arrays}) ON CONFLICT (id) DO NOTHING"
        )
        self._sqlite: Insert = sqlite.insert(table).on_conflict_do_nothing(index_elements=["id"])

    async def execute(self, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        if session.get_bind().dialect.name == "postgresql":
            arrays = {name: [row[name] for row in rows] for name in self.columns}
            await session.execute(self._unnest, arrays)
        else:
            await session.execute(self._sqlite, rows)


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
    session: AsyncSession, bulk: BulkInsert, records: Sequence[Record], to_row: Any
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
            await bulk.execute(session, rows)
    except IntegrityError:
        # Some row breaks a constraint (its space was deleted, say): find which, one by one.
        for row, record in zip(rows, kept, strict=True):
            try:
                async with session.begin_nested():
                    await bulk.execute(session, [row])
            except IntegrityError as exc:
                rejected.append((record, f"rejected by the database: {type(exc.orig).__name__}"))
    return newest_ms, rejected


_CHAT_ROWS = BulkInsert(
    Base.metadata.tables[ChatMessageRow.__tablename__],
    (
        "id",
        "space_id",
        "scope",
        "conversation",
        "room_id",
        "area",
        "sender_id",
        "sender_name",
        "recipient_id",
        "text",
        "ts_ms",
    ),
)
_EVENT_ROWS = BulkInsert(
    Base.metadata.tables[SpaceEvent.__tablename__],
    ("id", "space_id", "kind", "user_id", "call_id", "ts_ms", "data"),
)


async def write_chat(session: AsyncSession, records: Sequence[Record]) -> tuple[int, Rejected]:
    return await write(session, _CHAT_ROWS, records, chat_row)


async def write_events(session: AsyncSession, records: Sequence[Record]) -> tuple[int, Rejected]:
    return await write(session, _EVENT_ROWS, records, event_row)
