"""Writing a consumer batch to the database: every row in one transaction, or, when a row
breaks a constraint, row by row in savepoints so that only the rows the database refuses
are returned (with the reason) for the dead-letter topic.

`store` does that on a synchronous connection. Two writers run it, chosen by the database:

- `EngineWriter` (PostgreSQL) runs it on the async engine (`run_sync`): each statement is
  a network round trip anyway, and the loop serves others meanwhile.
- `ThreadWriter` (an SQLite file) runs it in a thread of its own, on a synchronous engine:
  a whole batch in one hop from the event loop. Through aiosqlite every statement, cursor
  and commit is a hop to its thread and back, and in `metaverse serve`, where the gateway
  keeps the event loop busy, each hop waited for the loop's next turn: about a dozen hops
  made a 5,000-row batch take half a second, and the consumer fell behind at 9,500
  messages a second. One hop per batch took it to 110 ms for 1,500 rows, keeping up with
  what the gateway acknowledges.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from metaverse.consumer.sinks import Parsed, Rejected
from metaverse.db.engine import make_sync_engine


class BatchWriter(Protocol):
    async def write(self, batches: Sequence[Parsed]) -> Rejected:
        """Store the rows of `batches` in one transaction; returns the refused records."""
        ...

    async def close(self) -> None: ...


def store(connection: Connection, batches: Sequence[Parsed]) -> Rejected:
    """One statement per topic and no savepoints (each statement is a round trip); row by
    row in savepoints only once the database refused the whole."""
    try:
        with connection.begin():
            for parsed in batches:
                if parsed.rows:
                    parsed.sink.bulk.execute(connection, parsed.rows)
        return []
    except IntegrityError:
        rejected: Rejected = []
        with connection.begin():
            for parsed in batches:
                rejected += _one_by_one(connection, parsed)
        return rejected


def _one_by_one(connection: Connection, parsed: Parsed) -> Rejected:
    """Each row in a savepoint of its own: those that break a constraint (their space was
    deleted, say) are returned with the reason, the others are inserted."""
    rejected: Rejected = []
    for row, record in zip(parsed.rows, parsed.kept, strict=True):
        try:
            with connection.begin_nested():
                parsed.sink.bulk.execute(connection, [row])
        except IntegrityError as exc:
            rejected.append((record, f"rejected by the database: {type(exc.orig).__name__}"))
    return rejected


class EngineWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def write(self, batches: Sequence[Parsed]) -> Rejected:
        async with self._engine.connect() as connection:
            return await connection.run_sync(store, batches)

    async def close(self) -> None:
        """The engine belongs to the caller."""


class ThreadWriter:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="consumer-writer")
        self._closed = False

    async def write(self, batches: Sequence[Parsed]) -> Rejected:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._write, batches)

    def _write(self, batches: Sequence[Parsed]) -> Rejected:
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
