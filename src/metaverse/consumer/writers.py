"""Writing a consumer batch to the database: every row in one transaction, or, when a row
breaks a constraint, row by row in savepoints so that only the rows the database refuses
are returned (with the reason) for the dead-letter topic.

Two writers behind one interface, chosen by the database:

- `SessionWriter` (PostgreSQL) awaits the async session: a statement is a network round
  trip anyway, and the loop serves others meanwhile.
- `ThreadWriter` (an SQLite file) writes a whole batch in one call to a thread of its own,
  on a synchronous engine. Through aiosqlite every statement, cursor and commit is a hop to
  its thread and back, and in `metaverse serve`, where the gateway keeps the event loop
  busy, each hop waited for the loop's next turn: about a dozen hops made a 5,000-row
  batch take half a second, and the consumer fell behind at 9,500 messages a second. One
  hop per batch took it to 110 ms for 1,500 rows, keeping up with what the gateway acks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from metaverse.consumer.sinks import Parsed, Rejected, insert, insert_one_by_one, refused
from metaverse.db.engine import make_sync_engine


class BatchWriter(Protocol):
    async def write(self, batches: Sequence[Parsed]) -> Rejected:
        """Store the rows of `batches` in one transaction; returns the refused records."""
        ...

    async def close(self) -> None: ...


class SessionWriter:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def write(self, batches: Sequence[Parsed]) -> Rejected:
        try:
            # One statement per topic and no savepoints: each statement is a round trip.
            async with self._sessions() as session, session.begin():
                for parsed in batches:
                    await insert(session, parsed)
            return []
        except IntegrityError:
            rejected: Rejected = []
            async with self._sessions() as session, session.begin():
                for parsed in batches:
                    rejected += await insert_one_by_one(session, parsed)
            return rejected

    async def close(self) -> None:
        """The sessions belong to the caller."""


class ThreadWriter:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="consumer-writer")
        self._closed = False

    async def write(self, batches: Sequence[Parsed]) -> Rejected:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._write, batches)

    def _write(self, batches: Sequence[Parsed]) -> Rejected:
        try:
            with self._engine.begin() as connection:
                for parsed in batches:
                    if parsed.rows:
                        parsed.sink.bulk.execute_sync(connection, parsed.rows)
            return []
        except IntegrityError:
            rejected: Rejected = []
            with self._engine.begin() as connection:
                for parsed in batches:
                    rejected += self._one_by_one(connection, parsed)
            return rejected

    @staticmethod
    def _one_by_one(connection: Connection, parsed: Parsed) -> Rejected:
        rejected: Rejected = []
        for row, record in zip(parsed.rows, parsed.kept, strict=True):
            try:
                with connection.begin_nested():
                    parsed.sink.bulk.execute_sync(connection, [row])
            except IntegrityError as exc:
                rejected.append(refused(record, exc))
        return rejected

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown(wait=False)


def writer_for(engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> BatchWriter:
    """A thread writer for an SQLite file; the async sessions for anything else (an
    in-memory SQLite database exists only on the async engine's own connection)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return ThreadWriter(make_sync_engine(url.render_as_string(hide_password=False)))
    return SessionWriter(sessions)
