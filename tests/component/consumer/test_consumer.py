"""The consumer over the in-memory event log and a real database (SQLite and PostgreSQL):
batches, idempotence, dead letters, offsets committed only after the database."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from metaverse.accounts.tokens import Principal, UserId
from metaverse.api.context import ApiContext
from metaverse.backends.eventlog import (
    EventLogReader,
    EventLogUnavailable,
    MemoryEventLog,
    Record,
)
from metaverse.chat.messages import CHAT_DLQ_TOPIC, CHAT_TOPIC
from metaverse.clock import FakeClock
from metaverse.consumer.service import Consumer
from metaverse.consumer.writers import writer_for
from metaverse.db.ids import new_id
from metaverse.db.models import ChatMessage as ChatRow
from metaverse.db.models import SpaceEvent
from metaverse.gateway.recorder import EVENTS_TOPIC
from metaverse.settings import Settings
from metaverse.spaces.service import create_space
from metaverse.world.geometry import Dimensions
from tests.messages import chat


@pytest.fixture
async def context(
    database_url: str, make_settings: Callable[..., Settings]
) -> AsyncIterator[ApiContext]:
    built = ApiContext.build(make_settings(database_url=database_url), FakeClock())
    yield built
    await built.close()


async def _space(context: ApiContext) -> str:
    async with context.sessions() as session:
        owner = await context.accounts.signup(session, "owner", "password1", "user")
        principal = Principal(UserId(owner), "user", "t")
        return await create_space(
            session,
            principal,
            name="s",
            dimensions=Dimensions(10, 10),
            map_id=None,
            visibility="public",
        )


def record(topic: str, value: bytes, offset: int, key: bytes = b"k") -> Record:
    return Record(topic=topic, key=key, value=value, offset=offset)


MakeConsumer = Callable[..., Consumer]


@pytest.fixture
async def consumer(context: ApiContext) -> AsyncIterator[MakeConsumer]:
    """Consumers on `context`'s database, closed at the end of the test."""
    made: list[Consumer] = []

    def make(
        log: MemoryEventLog,
        *,
        batch_wait_s: float = 0.05,
        registry: CollectorRegistry | None = None,
    ) -> Consumer:
        worker = Consumer(
            log,
            writer_for(context.engine),
            registry or CollectorRegistry(),
            group="g",
            batch_size=100,
            batch_wait_s=batch_wait_s,
            clock=FakeClock(),
        )
        made.append(worker)
        return worker

    yield make
    for worker in made:
        await worker.close()


async def append_chat(log: MemoryEventLog, space_id: str, text: str) -> None:
    message = chat(space_id, text)
    await log.append(CHAT_TOPIC, message.conversation.encode(), message.to_bytes())


@contextlib.asynccontextmanager
async def running(worker: Consumer) -> AsyncIterator[asyncio.Task[None]]:
    """`worker.run()` as a task for the duration of the block."""
    task = asyncio.create_task(worker.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until_stored(context: ApiContext, count: int) -> None:
    """Wait (up to 4 s) until at least `count` chat messages are in the database."""
    for _ in range(200):
        if await _count(context, ChatRow) >= count:
            return
        await asyncio.sleep(0.02)


async def _count(context: ApiContext, model: Any) -> int:
    async with context.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_batch_is_stored_once_even_when_replayed(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    space_id = await _space(context)
    log = MemoryEventLog()
    messages = [chat(space_id, f"m{i}") for i in range(5)]
    records = [record(CHAT_TOPIC, m.to_bytes(), i) for i, m in enumerate(messages)]
    worker = consumer(log)
    await worker.process(records)
    await worker.process(records)  # a replay after a crash before the offset commit
    assert await _count(context, ChatRow) == 5
    async with context.sessions() as session:
        texts = list(await session.scalars(select(ChatRow.text).order_by(ChatRow.id)))
    assert texts == [f"m{i}" for i in range(5)]
    assert log.records(CHAT_DLQ_TOPIC) == []


async def test_poison_records_go_to_the_dead_letter_topic_and_the_rest_flows(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    space_id = await _space(context)
    log = MemoryEventLog()
    good = chat(space_id, "fine")
    orphan = chat("no-such-space", "lost space")
    records = [
        record(CHAT_TOPIC, b"{not json", 0),
        record(CHAT_TOPIC, json.dumps({"id": "x"}).encode(), 1),
        record(CHAT_TOPIC, good.to_bytes(), 2),
        record(CHAT_TOPIC, orphan.to_bytes(), 3),
        record(CHAT_TOPIC, b"\xff\xfe", 4),
    ]
    worker = consumer(log)
    await worker.process(records)
    assert await _count(context, ChatRow) == 1
    dead = [json.loads(r.value) for r in log.records(CHAT_DLQ_TOPIC)]
    assert [d["offset"] for d in dead] == [0, 1, 4, 3]
    assert all(d["reason"] for d in dead)
    assert dead[-1]["reason"].startswith("rejected by the database")
    assert worker.metrics.dead_letters.labels(CHAT_TOPIC)._value.get() == 4


async def test_domain_events_are_stored_idempotently(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    space_id = await _space(context)
    log = MemoryEventLog()
    event = {
        "id": new_id(),
        "kind": "call-ended",
        "spaceId": space_id,
        "ts": 5,
        "serviceId": "g",
        "call_id": "c-1",
        "peak_size": 3,
        "durationMs": 1200,
    }
    records = [record(EVENTS_TOPIC, json.dumps(event).encode(), 0)]
    worker = consumer(log)
    await worker.process(records)
    await worker.process(records)
    async with context.sessions() as session:
        rows = list(await session.scalars(select(SpaceEvent)))
    assert len(rows) == 1
    assert (rows[0].kind, rows[0].call_id, rows[0].ts_ms) == ("call-ended", "c-1", 5)
    assert json.loads(rows[0].data)["durationMs"] == 1200


async def test_the_loop_commits_after_storing_and_a_restart_resumes(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    space_id = await _space(context)
    log = MemoryEventLog()
    for i in range(3):
        await append_chat(log, space_id, f"a{i}")
    async with running(consumer(log)):
        await until_stored(context, 3)
    for i in range(2):
        await append_chat(log, space_id, f"b{i}")
    async with running(consumer(log)):
        await until_stored(context, 5)
    assert await _count(context, ChatRow) == 5


async def test_a_consumer_that_keeps_up_lets_the_next_batch_gather_for_the_batch_wait(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    """The in-memory log hands over its first record at once: without the wait, every
    record or two would be a transaction of its own."""
    space_id = await _space(context)
    log = MemoryEventLog()
    worker = consumer(log, batch_wait_s=0.5)
    await append_chat(log, space_id, "first")
    async with running(worker):
        await until_stored(context, 1)
        for n in range(5):
            await append_chat(log, space_id, f"later {n}")
        await asyncio.sleep(0.1)
        assert await _count(context, ChatRow) == 1  # still gathering
        await until_stored(context, 6)
        assert await _count(context, ChatRow) == 6
        assert worker.batches == 2


class _FlakyCommits:
    """A reader whose first offset commit fails, as when the broker goes away."""

    def __init__(self, reader: EventLogReader) -> None:
        self._reader = reader
        self.failed = 0

    async def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        return await self._reader.poll(max_records, timeout_s)

    async def commit(self, records: Sequence[Record]) -> None:
        if not self.failed:
            self.failed += 1
            raise EventLogUnavailable("offset commit failed: broker away")
        await self._reader.commit(records)

    async def close(self) -> None:
        await self._reader.close()


async def test_a_failed_offset_commit_is_not_fatal(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    """The batch is stored, so the loop carries on: a later commit covers it, and a replay
    before that would insert nothing."""
    space_id = await _space(context)
    log = MemoryEventLog()
    readers: list[_FlakyCommits] = []

    def flaky_reader(group: str, topics: Sequence[str]) -> EventLogReader:
        reader = _FlakyCommits(MemoryEventLog.reader(log, group, topics))
        readers.append(reader)
        return reader

    log.reader = flaky_reader  # type: ignore[method-assign,assignment]
    registry = CollectorRegistry()
    await append_chat(log, space_id, "before the outage")
    async with running(consumer(log, registry=registry)) as task:
        await until_stored(context, 1)
        await append_chat(log, space_id, "after the outage")
        await until_stored(context, 2)
        assert await _count(context, ChatRow) == 2
        assert not task.done()
        assert readers[0].failed == 1
        assert registry.get_sample_value("metaverse_consumer_commit_failures_total") == 1
