"""Records of a space (or chat room) deleted after they were sent: dropped with the rows
they belong to, counted and logged, their offsets committed, never dead-lettered."""

from __future__ import annotations

import json
import logging

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import delete, select

from metaverse.api.context import ApiContext
from metaverse.backends.eventlog import MemoryEventLog
from metaverse.chat.messages import CHAT_DLQ_TOPIC, CHAT_TOPIC, ChatMessage
from metaverse.db.models import ChatMessage as ChatRow
from metaverse.db.models import ChatRoom, Space, SpaceEvent
from metaverse.gateway.recorder import EVENTS_TOPIC
from tests.component.consumer.conftest import (
    GROUP,
    MakeConsumer,
    append_chat,
    count_rows,
    delete_space,
    event,
    make_space,
    running,
    until_processed,
)
from tests.messages import chat

DROPPED = "metaverse_consumer_dropped_total"


async def make_room(context: ApiContext, space_id: str) -> str:
    async with context.sessions() as session:
        space = await session.get(Space, space_id)
        assert space is not None
        room = ChatRoom(space_id=space_id, name="r", owner_id=space.owner_id)
        session.add(room)
        await session.commit()
        return room.id


def room_chat(space_id: str, room_id: str, text: str) -> ChatMessage:
    return chat(space_id, text, scope="room", conversation=f"room:{room_id}", room_id=room_id)


async def test_messages_and_events_of_a_deleted_space_go_with_it(
    context: ApiContext, consumer: MakeConsumer, caplog: pytest.LogCaptureFixture
) -> None:
    """A space deleted while its people were still chatting: the messages in flight
    used to break the foreign key and go to the dead-letter topic, as if malformed."""
    kept, deleted = await make_space(context, "keeper"), await make_space(context, "leaver")
    log = MemoryEventLog()
    await append_chat(log, kept, "stays 1")
    await append_chat(log, deleted, "goes 1")
    await log.append(EVENTS_TOPIC, deleted.encode(), event(deleted))
    await log.append(EVENTS_TOPIC, kept.encode(), event(kept))
    await append_chat(log, deleted, "goes 2")
    await append_chat(log, kept, "stays 2")
    await delete_space(context, deleted)

    registry = CollectorRegistry()
    with caplog.at_level(logging.INFO, "metaverse.consumer.service"):
        worker = consumer(log, registry=registry)
        async with running(worker):
            await until_processed(worker)
    async with context.sessions() as session:
        assert set(await session.scalars(select(ChatRow.text))) == {"stays 1", "stays 2"}
        assert list(await session.scalars(select(SpaceEvent.space_id))) == [kept]
    assert log.records(CHAT_DLQ_TOPIC) == []
    assert log.records(f"{EVENTS_TOPIC}.dlq") == []
    labels = {"reason": "space_deleted"}
    assert registry.get_sample_value(DROPPED, {"topic": CHAT_TOPIC, **labels}) == 2
    assert registry.get_sample_value(DROPPED, {"topic": EVENTS_TOPIC, **labels}) == 1
    assert (
        registry.get_sample_value("metaverse_consumer_dead_letters_total", {"topic": CHAT_TOPIC})
        is None
    )
    assert "dropped 2 records of chat.messages: space_deleted" in caplog.messages
    # Their offsets are committed with the batch: nothing comes again.
    reader = log.reader(GROUP, [CHAT_TOPIC, EVENTS_TOPIC])
    assert await reader.poll(100, 0) == []
    await reader.close()


async def test_messages_of_a_deleted_chat_room_go_with_it(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    space_id = await make_space(context)
    other_space = await make_space(context, "other")
    room_id, gone_room = await make_room(context, space_id), await make_room(context, space_id)
    room_of_gone_space = await make_room(context, other_space)
    log = MemoryEventLog()
    records = [
        room_chat(space_id, room_id, "stays"),
        room_chat(space_id, gone_room, "room deleted"),
        room_chat(other_space, room_of_gone_space, "space deleted"),
    ]
    for message in records:
        await log.append(CHAT_TOPIC, message.conversation.encode(), message.to_bytes())
    async with context.sessions() as session:
        await session.execute(delete(ChatRoom).where(ChatRoom.id == gone_room))
        await session.commit()
    await delete_space(context, other_space)  # its rooms go with it

    worker = consumer(log)
    await worker.process(log.records(CHAT_TOPIC))
    async with context.sessions() as session:
        assert list(await session.scalars(select(ChatRow.text))) == ["stays"]
    assert log.records(CHAT_DLQ_TOPIC) == []
    dropped = worker.metrics.dropped
    assert dropped.labels(CHAT_TOPIC, "room_deleted")._value.get() == 1
    assert dropped.labels(CHAT_TOPIC, "space_deleted")._value.get() == 1


async def test_a_deleted_space_does_not_hide_malformed_records(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    """In one batch: records of a deleted space are dropped, a malformed one is still
    dead-lettered, and the good ones are stored."""
    kept, deleted = await make_space(context, "keeper"), await make_space(context, "leaver")
    log = MemoryEventLog()
    await append_chat(log, deleted, "goes")
    await log.append(CHAT_TOPIC, b"k", b'{"id": "half a record"')
    await append_chat(log, kept, "stays")
    await delete_space(context, deleted)

    worker = consumer(log)
    await worker.process(log.records(CHAT_TOPIC))
    assert await count_rows(context, ChatRow) == 1
    [dead] = [json.loads(r.value) for r in log.records(CHAT_DLQ_TOPIC)]
    assert dead["offset"] == 1 and dead["reason"].startswith("unparseable:")
    assert worker.metrics.dropped.labels(CHAT_TOPIC, "space_deleted")._value.get() == 1


async def test_a_space_no_database_has_is_dropped_too(
    context: ApiContext, consumer: MakeConsumer
) -> None:
    """The consumer can't tell a space deleted long ago from one that never was: both
    are counted and logged as `space_deleted`."""
    log = MemoryEventLog()
    await append_chat(log, "0" * 26, "of no space")
    worker = consumer(log)
    await worker.process(log.records(CHAT_TOPIC))
    assert await count_rows(context, ChatRow) == 0
    assert log.records(CHAT_DLQ_TOPIC) == []
    assert worker.metrics.dropped.labels(CHAT_TOPIC, "space_deleted")._value.get() == 1
