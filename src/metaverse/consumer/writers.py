"""Writing a consumer batch to the database: every row in one transaction, or, when a row
breaks a constraint, the batch sorted out in the same transaction: rows whose space (or
chat room) is no longer there are dropped, as they would have been deleted with it; the
rest are inserted, row by row in savepoints only if the database still refuses some, so
that only the rows it refuses are returned (with the reason) for the dead-letter topic.

`store` does that on a synchronous connection. Two writers run it, chosen by the database:

- `EngineWriter` (PostgreSQL) runs it on the async engine (`run_sync`): each statement is
  a network round trip anyway, and the loop serves others meanwhile.
- `ThreadWriter` (an SQLite file) runs it in a thread of its own, on a synchronous engine:
  a whole batch in one hop from the event loop. Through aiosqlite every statement, cursor
  and commit would be a hop to its thread and back, and in `metaverse serve`, where the
  gateway keeps the event loop busy, each hop waits for the loop's next turn: about a
  dozen hops make a 5,000-row batch take half a second, and the consumer falls behind at
  9,500 messages a second. In one hop a batch of 1,500-1,800 rows takes about 100 ms, and
  the consumer keeps up with what the gateway acknowledges.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from metaverse.backends.eventlog import Record
from metaverse.consumer.sinks import Parsed, Rejected, Sink
from metaverse.db.engine import make_sync_engine


@dataclass(slots=True)
class Written:
    """The records of a batch that were not stored: `rejected` ones, refused by the
    database (for the dead-letter topic, with the reason), and `dropped` ones, whose space
    or chat room is gone (with the reason: `space_deleted`, `room_deleted`)."""

    rejected: Rejected = field(default_factory=list)
    dropped: Rejected = field(default_factory=list)


class BatchWriter(Protocol):
    async def write(self, batches: Sequence[Parsed]) -> Written:
        """Store the rows of `batches` in one transaction; returns what was not stored.
        Raises if the database fails (rather than refuses a row): nothing is stored then."""
        ...

    async def close(self) -> None: ...


def store(connection: Connection, batches: Sequence[Parsed]) -> Written:
    """One statement per topic and no savepoints (each statement is a round trip); the
    batch is sorted out only once the database refused the whole."""
    try:
        with connection.begin():
            for parsed in batches:
                if parsed.rows:
                    parsed.sink.bulk.execute(connection, parsed.rows)
        return Written()
    except IntegrityError:
        written = Written()
        with connection.begin():
            for parsed in batches:
                _sort_out(connection, parsed, written)
        return written


def _sort_out(connection: Connection, parsed: Parsed, written: Written) -> None:
    """Drop the rows whose owner is gone (a space deleted while its messages were in
    flight: one query per owner table, not a savepoint per row), insert the others in one
    statement, or, if the database still refuses some, row by row."""
    sink = parsed.sink
    gone = sink.orphans(connection, parsed.rows)
    rows: list[dict[str, Any]] = []
    kept: list[Record] = []
    for index, (row, record) in enumerate(zip(parsed.rows, parsed.kept, strict=True)):
        if index in gone:
            written.dropped.append((record, gone[index]))
        else:
            rows.append(row)
            kept.append(record)
    if not rows:
        return
    try:
        with connection.begin_nested():
            sink.bulk.execute(connection, rows)
    except IntegrityError:
        _one_by_one(connection, sink, rows, kept, written)


def _one_by_one(
    connection: Connection,
    sink: Sink,
    rows: list[dict[str, Any]],
    records: list[Record],
    written: Written,
) -> None:
    """Each row in a savepoint of its own: one that breaks a constraint is dropped if its
    owner was deleted meanwhile, else rejected with the reason; the others are inserted."""
    for row, record in zip(rows, records, strict=True):
        try:
            with connection.begin_nested():
                sink.bulk.execute(connection, [row])
        except IntegrityError as exc:
            reason = sink.orphans(connection, [row]).get(0)
            if reason is not None:
                written.dropped.append((record, reason))
            else:
                reason = f"rejected by the database: {type(exc.orig).__name__}"
                written.rejected.append((record, reason))


class EngineWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def write(self, batches: Sequence[Parsed]) -> Written:
        async with self._engine.connect() as connection:
            return await connection.run_sync(store, batches)

    async def close(self) -> None:
        """The engine belongs to the caller."""


class ThreadWriter:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="consumer-writer")
        self._closed = False

    async def write(self, batches: Sequence[Parsed]) -> Written:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._write, batches)

    def _write(self, batches: Sequence[Parsed]) -> Written:
        with self._engine.connect() as connection:
            return store(connection, batches)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown(wait=False)


def writer_for(engine: AsyncEngine) -> BatchWriter:
    """A thread writer for an SQLite file; the async engine for anything else (an
    in-memory SQLite database exists only on the async engine's own connection)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return ThreadWriter(make_sync_engine(url))
    return EngineWriter(engine)
