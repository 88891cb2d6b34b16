"""The real Kafka broker with the client we chose: confluent-kafka's asyncio API.

Proves what the chat pipeline relies on: idempotent `acks=all` produce, order
per key, consumer groups with manual commits, and committed offsets that a
later member of the group resumes from.
"""

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

import pytest
from confluent_kafka import Message, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.aio import AIOConsumer, AIOProducer

# confluent_kafka.admin re-exports NewTopic without marking it public for mypy.
from confluent_kafka.cimpl import NewTopic

from tests.services import service_url

pytestmark = pytest.mark.integration

PARTITIONS = 3
KEYS = ("alice", "bob", "carol", "dave", "erin")
PER_KEY = 8
TOTAL = len(KEYS) * PER_KEY
TIMEOUT_S = 30.0


@pytest.fixture
def broker() -> str:
    return service_url("kafka")


@pytest.fixture
async def topic(broker: str) -> AsyncIterator[str]:
    admin = AdminClient({"bootstrap.servers": broker})
    name = f"test-broker-{uuid.uuid4().hex}"
    created = admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1)])
    await asyncio.wrap_future(created[name])
    yield name
    await asyncio.wrap_future(admin.delete_topics([name])[name])


def consumer_conf(broker: str, group: str) -> dict[str, object]:
    return {
        "bootstrap.servers": broker,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }


async def produce_all(broker: str, topic: str) -> list[Message]:
    producer = AIOProducer(
        {"bootstrap.servers": broker, "acks": "all", "enable.idempotence": True, "linger.ms": 5}
    )
    try:
        pending = [
            await producer.produce(topic, value=f"{key}:{seq}".encode(), key=key.encode())
            for seq in range(PER_KEY)
            for key in KEYS
        ]
        await producer.flush(TIMEOUT_S)
        return list(await asyncio.gather(*pending))
    finally:
        await producer.close()


async def consume_all(consumer: AIOConsumer, count: int) -> list[Message]:
    received: list[Message] = []
    deadline = time.monotonic() + TIMEOUT_S
    while len(received) < count:
        assert time.monotonic() < deadline, f"got {len(received)} of {count} messages"
        batch: list[Message] = await consumer.consume(num_messages=count, timeout=0.5)
        for message in batch:
            assert message.error() is None, message.error()
            received.append(message)
    return received


def end_offsets(delivered: list[Message]) -> dict[int, int]:
    ends: dict[int, int] = {}
    for message in delivered:
        partition, offset = message.partition(), message.offset()
        assert partition is not None and offset is not None
        ends[partition] = max(ends.get(partition, 0), offset + 1)
    return ends


def committed_offsets(partitions: list[TopicPartition]) -> dict[int, int]:
    # A partition that got no message has no offset (OFFSET_INVALID, -1001).
    return {tp.partition: tp.offset for tp in partitions if tp.offset >= 0}


async def test_produce_consume_commit_resume(broker: str, topic: str) -> None:
    delivered = await produce_all(broker, topic)
    assert len(delivered) == TOTAL
    assert all(message.error() is None for message in delivered)

    group = f"test-group-{uuid.uuid4().hex}"
    first = AIOConsumer(consumer_conf(broker, group))
    try:
        await first.subscribe([topic])
        received = await consume_all(first, TOTAL)
        committed: list[TopicPartition] = await first.commit(asynchronous=False)
    finally:
        await first.close()

    by_key: defaultdict[bytes | None, list[bytes | None]] = defaultdict(list)
    partitions_of_key: defaultdict[bytes | None, set[int | None]] = defaultdict(set)
    for message in received:
        by_key[message.key()].append(message.value())
        partitions_of_key[message.key()].add(message.partition())
    for key in KEYS:
        # One key, one partition, and the order it was produced in.
        assert by_key[key.encode()] == [f"{key}:{seq}".encode() for seq in range(PER_KEY)]
        assert len(partitions_of_key[key.encode()]) == 1
    assert len(by_key) == len(KEYS)

    # The group's offset per partition is one past the last message delivered there.
    expected = end_offsets(delivered)
    assert all(tp.error is None for tp in committed)
    assert committed_offsets(committed) == expected

    # A new member of the same group resumes from the committed offsets: nothing left.
    second = AIOConsumer(consumer_conf(broker, group))
    try:
        await second.subscribe([topic])
        deadline = time.monotonic() + TIMEOUT_S
        while len(await second.assignment()) < PARTITIONS:
            assert time.monotonic() < deadline, "second consumer got no assignment"
            assert await second.consume(num_messages=10, timeout=0.2) == []
        assert await second.consume(num_messages=10, timeout=1.0) == []
        stored: list[TopicPartition] = await second.committed(
            [TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=TIMEOUT_S
        )
        assert committed_offsets(stored) == expected
    finally:
        await second.close()
