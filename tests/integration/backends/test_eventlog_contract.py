"""The event log contract, for the in-process log and for Kafka alike: order per key,
consumer groups that resume after their commits, and at-least-once redelivery."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from metaverse.backends.eventlog import EventLog, Record
from metaverse.backends.eventlog_kafka import KafkaEventLog
from tests.integration.backends.conftest import read, read_nothing

Topics = Callable[[], str]


def group() -> str:
    return f"test-group-{uuid.uuid4().hex}"


async def append_all(log: EventLog, topic: str, keys: list[str], per_key: int) -> None:
    for seq in range(per_key):
        for key in keys:
            await log.append(topic, key.encode(), f"{key}:{seq}".encode())


def by_key(records: list[Record]) -> dict[bytes, list[bytes]]:
    grouped: defaultdict[bytes, list[bytes]] = defaultdict(list)
    for record in records:
        grouped[record.key].append(record.value)
    return dict(grouped)


async def test_a_reader_gets_each_key_in_append_order(event_log: EventLog, topics: Topics) -> None:
    topic = topics()
    keys = [f"key-{n}" for n in range(12)]
    await append_all(event_log, topic, keys, per_key=6)
    reader = event_log.reader(group(), [topic])
    try:
        records = await read(reader, 72)
    finally:
        await reader.close()
    assert by_key(records) == {
        key.encode(): [f"{key}:{seq}".encode() for seq in range(6)] for key in keys
    }
    partitions: defaultdict[bytes, set[int]] = defaultdict(set)
    offsets: defaultdict[int, list[int]] = defaultdict(list)
    for record in records:
        assert record.topic == topic
        partitions[record.key].add(record.partition)
        offsets[record.partition].append(record.offset)
    assert all(len(used) == 1 for used in partitions.values()), "a key stays on one partition"
    assert all(seen == sorted(set(seen)) for seen in offsets.values())
    if isinstance(event_log, KafkaEventLog):
        assert len(offsets) > 1, "12 keys over 3 partitions should use more than one"


async def test_appends_started_without_awaiting_keep_their_order(
    event_log: EventLog, topics: Topics
) -> None:
    """`append_soon`: each key's records in the order of the calls, every future done once
    its record is durable."""
    topic = topics()
    keys = [f"key-{n}" for n in range(6)]
    started = [
        event_log.append_soon(topic, key.encode(), f"{key}:{seq}".encode())
        for seq in range(20)
        for key in keys
    ]
    await asyncio.wait_for(asyncio.gather(*started), 30)
    reader = event_log.reader(group(), [topic])
    try:
        records = await read(reader, len(started))
    finally:
        await reader.close()
    assert by_key(records) == {
        key.encode(): [f"{key}:{seq}".encode() for seq in range(20)] for key in keys
    }


async def test_a_new_reader_resumes_after_the_groups_commit(
    event_log: EventLog, topics: Topics
) -> None:
    topic, name = topics(), group()
    keys = [f"key-{n}" for n in range(6)]
    await append_all(event_log, topic, keys, per_key=2)
    first = event_log.reader(name, [topic])
    try:
        await first.commit(await read(first, 12))
    finally:
        await first.close()

    await event_log.append(topic, b"key-0", b"later-0")
    await event_log.append(topic, b"key-5", b"later-5")
    second = event_log.reader(name, [topic])
    try:
        later = await read(second, 2)
        await read_nothing(second)
    finally:
        await second.close()
    assert sorted(record.value for record in later) == [b"later-0", b"later-5"]


async def test_uncommitted_records_are_redelivered(event_log: EventLog, topics: Topics) -> None:
    topic, name = topics(), group()
    values = [f"v{n}".encode() for n in range(5)]
    for value in values:
        await event_log.append(topic, b"one-key", value)

    first = event_log.reader(name, [topic])
    try:
        records = await read(first, 5)
        await first.commit(records[:2])  # a crash after processing two of five
    finally:
        await first.close()

    second = event_log.reader(name, [topic])
    try:
        redelivered = await read(second, 3)
        await read_nothing(second)
    finally:
        await second.close()
    assert [record.value for record in redelivered] == values[2:]


async def test_without_a_commit_everything_is_redelivered(
    event_log: EventLog, topics: Topics
) -> None:
    topic, name = topics(), group()
    await append_all(event_log, topic, ["a", "b", "c"], per_key=2)
    for _ in range(2):
        reader = event_log.reader(name, [topic])
        try:
            assert len(await read(reader, 6)) == 6
        finally:
            await reader.close()


async def test_groups_read_independently(event_log: EventLog, topics: Topics) -> None:
    topic = topics()
    await append_all(event_log, topic, ["a", "b"], per_key=3)
    for _ in range(2):
        reader = event_log.reader(group(), [topic])
        try:
            records = await read(reader, 6)
            await reader.commit(records)
        finally:
            await reader.close()
        assert by_key(records) == {
            b"a": [b"a:0", b"a:1", b"a:2"],
            b"b": [b"b:0", b"b:1", b"b:2"],
        }


async def test_one_reader_reads_several_topics(event_log: EventLog, topics: Topics) -> None:
    chat, events = topics(), topics()
    await event_log.append(chat, b"k", b"chat")
    await event_log.append(events, b"k", b"event")
    reader = event_log.reader(group(), [chat, events])
    try:
        records = await read(reader, 2)
    finally:
        await reader.close()
    assert {(record.topic, record.value) for record in records} == {
        (chat, b"chat"),
        (events, b"event"),
    }


async def test_poll_returns_at_most_max_records(event_log: EventLog, topics: Topics) -> None:
    topic = topics()
    for n in range(10):
        await event_log.append(topic, b"k", str(n).encode())
    reader = event_log.reader(group(), [topic])
    try:
        async with asyncio.timeout(20):
            batch: list[Record] = []
            while not batch:
                batch = await reader.poll(3, 0.5)
        assert 1 <= len(batch) <= 3
        assert [record.value for record in batch] == [str(n).encode() for n in range(len(batch))]
    finally:
        await reader.close()


async def test_poll_waits_for_a_record_at_most_the_timeout(
    event_log: EventLog, topics: Topics
) -> None:
    topic = topics()
    reader = event_log.reader(group(), [topic])
    try:
        await reader.poll(10, 0.5)  # the first poll may include joining the group
        started = time.monotonic()
        assert await reader.poll(10, 0.3) == []
        assert time.monotonic() - started < 1.3

        waiting = asyncio.create_task(reader.poll(10, 15))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await event_log.append(topic, b"k", b"wake up")
        records = await waiting
        assert [record.value for record in records] == [b"wake up"]
        assert time.monotonic() - started < 10
    finally:
        await reader.close()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("text", b"v"),
        (b"k", "text"),
        (bytearray(b"k"), b"v"),
        (b"k", memoryview(b"v")),
        (None, b"v"),
        (b"k", None),
        (b"k", 7),
    ],
    ids=lambda x: type(x).__name__,
)
async def test_keys_and_values_other_than_bytes_are_refused(
    event_log: EventLog, topics: Topics, key: Any, value: Any
) -> None:
    with pytest.raises(TypeError):
        await event_log.append(topics(), key, value)


@pytest.mark.parametrize("topic", ["", "has space", "slash/es", "x" * 250, ".", ".."])
async def test_invalid_topic_names_are_refused(event_log: EventLog, topic: str) -> None:
    with pytest.raises(ValueError, match="topic"):
        await event_log.append(topic, b"k", b"v")
    with pytest.raises(ValueError, match="topic"):
        event_log.reader(group(), [topic])


async def test_ping_answers(event_log: EventLog) -> None:
    await event_log.ping()


async def test_committing_nothing_is_allowed(event_log: EventLog, topics: Topics) -> None:
    reader = event_log.reader(group(), [topics()])
    try:
        await reader.commit([])
    finally:
        await reader.close()
