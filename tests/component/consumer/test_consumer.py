"""The consumer over the in-memory event log and a real database (SQLite and PostgreSQL):
batches, idempotence, dead letters, offsets committed only after the database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from prometheus_client import CollectorRegistry
from sqlalchemy import select

from metaverse.api.context import ApiContext
from metaverse.backends.eventlog import (
    EventLogReader,
    EventLogUnavailable,
    MemoryEventLog,
    Record,
)
from metaverse.chat.messages import CHAT_DLQ_TOPIC, CHAT_TOPIC
from metaverse.db.ids import new_id
from metaverse.db.models import ChatMessage as ChatRow
from metaverse.db.models import SpaceEvent
from metaverse.gateway.recorder import EVENTS_TOPIC
from tests.component.consumer.conftest import (
    MakeConsumer,
    append_chat,
    count_rows,
    make_space,
    record,
    running,
    until_stored,
)
from tests.messages import chat


async def test_a_batch_is_stored_once_even_when_replayed(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    space_id = await make_space(context)
    log = MemoryEventLog()
    messages = [chat(space_id, f"m{i}") for i in range(5)]
    records = [record(CHAT_TOPIC, m.to_bytes(), i) for i, m in enumerate(messages)]
    worker = consumer(log)
    await worker.process(records)
    await worker.process(records)  # a replay after a crash before the offset commit
    assert await count_rows(context, ChatRow) == 5
    async with context.sessions() as session:
        texts = list(await session.scalars(select(ChatRow.text).order_by(ChatRow.id)))
    assert texts == [f"m{i}" for i in range(5)]
    assert log.records(CHAT_DLQ_TOPIC) == []


async def test_poison_records_go_to_the_dead_letter_topic_and_the_rest_flows(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    space_id = await make_space(context)
    log = MemoryEventLog()
    good = chat(space_id, "fine")
    records = [
        record(CHAT_TOPIC, b"{not json", 0),
        record(CHAT_TOPIC, json.dumps({"id": "x"}).encode(), 1),
        record(CHAT_TOPIC, good.to_bytes(), 2),
        record(CHAT_TOPIC, b"\xff\xfe", 3),
    ]
    worker = consumer(log)
    await worker.process(records)
    assert await count_rows(context, ChatRow) == 1
    dead = [json.loads(r.value) for r in log.records(CHAT_DLQ_TOPIC)]
    assert [d["offset"] for d in dead] == [0, 1, 3]
    assert all(d["reason"].startswith("unparseable:") for d in dead)
    assert worker.metrics.dead_letters.labels(CHAT_TOPIC)._value.get() == 3


async def test_records_the_database_cannot_store_are_dead_lettered_not_retried_forever(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    """A NUL character (PostgreSQL refuses it in text), a timestamp beyond BIGINT, an
    event's user id that is no string: each parses, and used to fail its whole batch
    with a database error on every retry, stopping the consumer for good. Refused at
    parse time, they are dead-lettered the same way on both databases."""
    space_id = await make_space(context)
    log = MemoryEventLog()
    good = chat(space_id, "fine")
    late = chat(space_id, "late", ts_ms=1).to_bytes()
    beyond = late.replace(b'"ts_ms":1,', b'"ts_ms":9223372036854775808,')  # 2**63
    event = {"id": new_id(), "kind": "joined", "spaceId": space_id, "ts": 5, "user_id": 7}
    records = [
        record(CHAT_TOPIC, chat(space_id, "nul \x00 here").to_bytes(), 0),
        record(CHAT_TOPIC, chat(space_id, "nul in the name", sender_name="a\x00").to_bytes(), 1),
        record(CHAT_TOPIC, beyond, 2),
        record(CHAT_TOPIC, chat(space_id, "a backslash-u0000 typed out: \\u0000").to_bytes(), 3),
        record(CHAT_TOPIC, good.to_bytes(), 4),
        record(EVENTS_TOPIC, json.dumps(event).encode(), 5),
    ]
    worker = consumer(log)
    await worker.process(records)
    async with context.sessions() as session:
        texts = set(await session.scalars(select(ChatRow.text)))
    assert texts == {"fine", "a backslash-u0000 typed out: \\u0000"}
    dead = {
        d["offset"]: d["reason"]
        for d in map(json.loads, (r.value for r in log.records(CHAT_DLQ_TOPIC)))
    }
    assert dead == {
        0: "unparseable: a text holds a NUL character",
        1: "unparseable: a text holds a NUL character",
        2: "unparseable: the timestamp is out of range",
    }
    [dead_event] = [json.loads(r.value) for r in log.records(f"{EVENTS_TOPIC}.dlq")]
    assert dead_event["reason"] == "unparseable: user_id must be a string"
    assert await count_rows(context, SpaceEvent) == 0


async def test_domain_events_are_stored_idempotently(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    space_id = await make_space(context)
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
    space_id = await make_space(context)
    log = MemoryEventLog()
    for i in range(3):
        await append_chat(log, space_id, f"a{i}")
    async with running(consumer(log)):
        await until_stored(context, 3)
    for i in range(2):
        await append_chat(log, space_id, f"b{i}")
    async with running(consumer(log)):
        await until_stored(context, 5)
    assert await count_rows(context, ChatRow) == 5


async def test_a_consumer_that_keeps_up_lets_the_next_batch_gather_for_the_batch_wait(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    """The in-memory log hands over its first record at once: without the wait, every
    record or two would be a transaction of its own."""
    space_id = await make_space(context)
    log = MemoryEventLog()
    worker = consumer(log, batch_wait_s=0.5)
    await append_chat(log, space_id, "first")
    async with running(worker):
        await until_stored(context, 1)
        for n in range(5):
            await append_chat(log, space_id, f"later {n}")
        await asyncio.sleep(0.1)
        assert await count_rows(context, ChatRow) == 1  # still gathering
        await until_stored(context, 6)
        assert await count_rows(context, ChatRow) == 6
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
    space_id = await make_space(context)
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
        assert await count_rows(context, ChatRow) == 2
        assert not task.done()
        assert readers[0].failed == 1
        assert registry.get_sample_value("metaverse_consumer_commit_failures_total") == 1
