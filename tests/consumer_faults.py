"""Faults injected into the consumer at the points its persistence invariant is about: a
write that fails inside its transaction, the database going away at a write, a stop
between the database commit and the offset commit, a dead-letter append that fails.

Each fires at the first batch holding a record that `mine` picks (tests on the real
Kafka share its topics with other tests' traffic), so a test never depends on when a
kill happens to land: the fault is placed, not timed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from metaverse.backends.eventlog import EventLog, EventLogReader, EventLogUnavailable, Record
from metaverse.consumer.sinks import BulkInsert, Parsed
from metaverse.consumer.writers import BatchWriter, Written

Mine = Callable[[Record], bool]


def everything(_: Record) -> bool:
    return True


def records_of(batches: Sequence[Parsed]) -> list[Record]:
    return [record for parsed in batches for record in parsed.kept]


class _InsertThenFail(BulkInsert):
    """Runs the real insert, then fails as the database would on a lost disk or
    connection: after the rows went in, before the transaction commits."""

    def __init__(self, bulk: BulkInsert) -> None:  # the real one is built already
        self._bulk = bulk

    def execute(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        self._bulk.execute(connection, rows)
        raise OperationalError("INSERT", None, Exception("disk I/O error (injected)"))


class FailingWrite:
    """A writer whose write of the first batch with `mine` records fails inside its
    transaction, so that nothing of that batch is committed."""

    def __init__(self, inner: BatchWriter, mine: Mine = everything) -> None:
        self._inner = inner
        self._mine = mine
        self.failed: list[Record] = []  # the records of the batch that failed

    async def write(self, batches: Sequence[Parsed]) -> Written:
        records = records_of(batches)
        if not self.failed and any(map(self._mine, records)):
            self.failed = records
            batches = [
                dataclasses.replace(
                    parsed,
                    sink=dataclasses.replace(parsed.sink, bulk=_InsertThenFail(parsed.sink.bulk)),
                )
                for parsed in batches
            ]
        return await self._inner.write(batches)

    async def close(self) -> None:
        await self._inner.close()


class BeforeWrite:
    """A writer that runs `action` (say, stopping the database) just before it writes the
    first batch with `mine` records."""

    def __init__(
        self, inner: BatchWriter, action: Callable[[], Awaitable[None]], mine: Mine = everything
    ) -> None:
        self._inner = inner
        self._action = action
        self._mine = mine
        self.done = False

    async def write(self, batches: Sequence[Parsed]) -> Written:
        if not self.done and any(map(self._mine, records_of(batches))):
            self.done = True
            await self._action()
        return await self._inner.write(batches)

    async def close(self) -> None:
        await self._inner.close()


class StopAfterWrite:
    """A writer that, once it has stored the first batch with `mine` records, waits until
    it is cancelled: the consumer stops between its database commit and its offset commit
    (`stored` says what it stored; `reached` is set then)."""

    def __init__(self, inner: BatchWriter, mine: Mine = everything) -> None:
        self._inner = inner
        self._mine = mine
        self.stored: list[Record] = []
        self.reached = asyncio.Event()

    async def write(self, batches: Sequence[Parsed]) -> Written:
        written = await self._inner.write(batches)
        records = records_of(batches)
        if not self.reached.is_set() and any(map(self._mine, records)):
            self.stored = records
            self.reached.set()
            await asyncio.Future()  # until the consumer is stopped
        return written

    async def close(self) -> None:
        await self._inner.close()


class Recording:
    """A writer that notes every record it is handed, then writes it."""

    def __init__(self, inner: BatchWriter) -> None:
        self._inner = inner
        self.seen: list[Record] = []

    async def write(self, batches: Sequence[Parsed]) -> Written:
        self.seen += records_of(batches)
        return await self._inner.write(batches)

    async def close(self) -> None:
        await self._inner.close()


class DeadLettersFail:
    """An event log whose first `failures` dead-letter appends of `mine` records fail, as
    when the broker is away; everything else goes to `inner`. `dead_lettered` keeps the
    values of the dead letters it did store (on a shared Kafka, other tests' consumer
    groups may dead-letter the same records: this tells what this consumer did)."""

    def __init__(self, inner: EventLog, mine: Callable[[bytes], bool], failures: int = 1) -> None:
        self._inner = inner
        self._mine = mine
        self._failures = failures
        self.failed = 0
        self.dead_lettered: list[bytes] = []

    def _fails(self, topic: str, value: bytes) -> bool:
        if topic.endswith(".dlq") and self._mine(value) and self.failed < self._failures:
            self.failed += 1
            return True
        return False

    async def append(self, topic: str, key: bytes, value: bytes) -> None:
        if self._fails(topic, value):
            raise EventLogUnavailable("the broker is away (injected)")
        await self._inner.append(topic, key, value)
        if topic.endswith(".dlq"):
            self.dead_lettered.append(value)

    def append_soon(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[None]:
        """Not used by the consumer (it awaits each dead letter); kept for the protocol."""
        if self._fails(topic, value):
            failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            failed.set_exception(EventLogUnavailable("the broker is away (injected)"))
            return failed
        return self._inner.append_soon(topic, key, value)

    async def ping(self) -> None:
        await self._inner.ping()

    async def close(self) -> None:
        await self._inner.close()

    def reader(self, group: str, topics: Sequence[str]) -> EventLogReader:
        return self._inner.reader(group, topics)
