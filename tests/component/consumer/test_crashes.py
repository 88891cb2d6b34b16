"""The persistence invariant, with faults placed instead of timed: a consumer commits a
batch's offsets only once the batch is in the database (and its poison records in the
dead-letter topic), so whatever fails before that, the next consumer of the group gets
the batch again, and stores each record exactly once.

Each test here fails if `Consumer.run` commits the offsets before it processes the
batch: a SIGKILL test alone would not notice, since a kill rarely lands between the two.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from metaverse.api.context import ApiContext
from metaverse.backends.eventlog import EventLogUnavailable, MemoryEventLog
from metaverse.chat.messages import CHAT_DLQ_TOPIC, CHAT_TOPIC
from metaverse.consumer.writers import writer_for
from metaverse.db.engine import make_engine
from metaverse.db.models import ChatMessage as ChatRow
from metaverse.db.models import SpaceEvent
from metaverse.gateway.recorder import EVENTS_TOPIC
from tests.component.consumer.conftest import (
    MakeConsumer,
    append_chat,
    count_rows,
    event,
    make_space,
    running,
    stored_ids,
    until_processed,
    until_stored,
)
from tests.consumer_faults import DeadLettersFail, FailingWrite, Recording, StopAfterWrite
from tests.loopback import free_port

COUNT = 20


async def fill(log: MemoryEventLog, space_id: str) -> set[str]:
    """`COUNT` chat messages and a domain event; the messages' ids."""
    ids = {(await append_chat(log, space_id, f"m{n}")).id for n in range(COUNT)}
    await log.append(EVENTS_TOPIC, space_id.encode(), event(space_id))
    return ids


async def fails(task: asyncio.Task[None]) -> BaseException:
    """The error `task` ends with (it must end, and with one)."""
    async with asyncio.timeout(10):
        with pytest.raises(Exception) as raised:
            await task
    return raised.value


async def test_a_batch_whose_write_fails_is_stored_by_the_next_consumer(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    """An error inside the database transaction (after the rows went in) fails the
    batch and stops the consumer; the offsets must not have moved, so the restarted
    consumer stores every record. Committed first, the batch would be lost."""
    space_id = await make_space(context)
    log = MemoryEventLog()
    ids = await fill(log, space_id)

    failing = FailingWrite(writer_for(context.engine))
    error = await fails(asyncio.create_task(consumer(log, writer=failing).run()))
    assert "injected" in str(error)
    assert len(failing.failed) == COUNT + 1
    assert await count_rows(context, ChatRow) == 0  # the transaction was rolled back

    async with running(consumer(log)):
        await until_stored(context, COUNT)
    assert sorted(await stored_ids(context)) == sorted(ids)
    assert await count_rows(context, SpaceEvent) == 1


def unreachable(database_url: str, tmp_path: Path) -> str:
    """The same kind of database, where none answers: a PostgreSQL port nothing listens
    on, an SQLite file in a directory that does not exist."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'metaverse.db'}"
    return f"postgresql+asyncpg://metaverse:x@127.0.0.1:{free_port()}/metaverse"


async def test_a_batch_polled_while_the_database_is_down_is_stored_after_a_restart(
    context: ApiContext, consumer: MakeConsumer, database_url: str, tmp_path: Path
) -> None:
    """The database unreachable when a batch comes: the consumer fails (its supervisor
    restarts it) without committing, and once the database is back, the restarted
    consumer stores every record."""
    space_id = await make_space(context)
    log = MemoryEventLog()
    ids = await fill(log, space_id)

    down = make_engine(unreachable(database_url, tmp_path))
    try:
        await fails(asyncio.create_task(consumer(log, writer=writer_for(down)).run()))
    finally:
        await down.dispose()
    assert await count_rows(context, ChatRow) == 0

    async with running(consumer(log)):
        await until_stored(context, COUNT)
    assert sorted(await stored_ids(context)) == sorted(ids)
    assert await count_rows(context, SpaceEvent) == 1


async def test_a_stop_between_the_database_commit_and_the_offset_commit_stores_once(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    """Stopped after its batch is stored but before the offsets are committed, the
    consumer leaves the batch to the next one, which reads it again and inserts
    nothing twice (the message id is the key). Had the offsets been committed before the
    write, the next consumer would not read the batch again."""
    space_id = await make_space(context)
    log = MemoryEventLog()
    ids = await fill(log, space_id)

    stopping = StopAfterWrite(writer_for(context.engine))
    async with running(consumer(log, writer=stopping)):
        async with asyncio.timeout(10):
            await stopping.reached.wait()
        assert await count_rows(context, ChatRow) == COUNT
    # Stopped (cancelled) right there, between the two commits.

    again = Recording(writer_for(context.engine))
    restarted = consumer(log, writer=again)
    async with running(restarted):
        await until_processed(restarted)
    assert [r.offset for r in again.seen] == [r.offset for r in stopping.stored]
    assert sorted(await stored_ids(context)) == sorted(ids)
    assert await count_rows(context, SpaceEvent) == 1
    assert log.records(CHAT_DLQ_TOPIC) == []  # the replay was no refusal either


async def test_a_poison_record_whose_dead_letter_fails_is_dead_lettered_after_a_restart(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    """A poison record's offset may be committed only once its dead letter is durable:
    if the dead-letter append fails, the consumer fails before committing, and the
    restarted one dead-letters it (and stores the good records once)."""
    space_id = await make_space(context)
    log = MemoryEventLog()
    ids = await fill(log, space_id)
    await log.append(CHAT_TOPIC, b"k", b'{"id": "poison"')
    ids |= {(await append_chat(log, space_id, "after the poison")).id}

    refusing = DeadLettersFail(log, lambda value: b"poison" in value)
    error = await fails(asyncio.create_task(consumer(refusing).run()))
    assert isinstance(error, EventLogUnavailable)
    assert refusing.failed == 1 and log.records(CHAT_DLQ_TOPIC) == []

    async with running(consumer(log)):
        for _ in range(200):
            if log.records(CHAT_DLQ_TOPIC):
                break
            await asyncio.sleep(0.02)
        await until_stored(context, len(ids))
    [dead] = [json.loads(r.value) for r in log.records(CHAT_DLQ_TOPIC)]
    assert dead["value"] == '{"id": "poison"' and dead["reason"].startswith("unparseable:")
    assert sorted(await stored_ids(context)) == sorted(ids)
