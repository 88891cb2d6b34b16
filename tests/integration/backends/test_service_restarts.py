"""Recovery from the real services going away: Redis restarted under a subscriber, Kafka
stopped under a producer and a reader.

These stop the shared services, so they run on one xdist worker (`--dist loadgroup`)
and hold the services lock exclusively: the other backend tests wait meanwhile.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Literal

import pytest

from metaverse.backends.eventlog import EventLogUnavailable, Record
from metaverse.backends.eventlog_kafka import KafkaEventLog
from metaverse.backends.kafka_config import kafka_config
from metaverse.backends.pubsub import GAP, PubSubUnavailable
from metaverse.backends.pubsub_redis import RedisPubSub
from tests.integration.backends.conftest import (
    Listener,
    delete_topics,
    read,
    unique,
)
from tests.services import service_url, services_lock

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("service-restarts")]

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT_S = 2.0


async def script(service: Literal["redis", "kafka"], action: Literal["start", "stop"]) -> None:
    process = await asyncio.create_subprocess_exec(
        "bash", f"scripts/{service}.sh", action, cwd=ROOT
    )
    assert await process.wait() == 0, f"scripts/{service}.sh {action} failed"


@asynccontextmanager
async def stopped(service: Literal["redis", "kafka"]) -> AsyncIterator[None]:
    """The service is down inside the block and running again after it, whatever happens."""
    await script(service, "stop")
    try:
        yield
    finally:
        await script(service, "start")


async def test_a_subscriber_resubscribes_by_itself_after_redis_restarts_and_reports_the_gap() -> (
    None
):
    url = service_url("redis")
    channel = unique("restart")
    async with services_lock(exclusive=True):
        publisher = RedisPubSub(url, timeout_s=TIMEOUT_S)
        subscriber = RedisPubSub(url)
        try:
            await subscriber.subscribe(channel)
            listener = Listener(subscriber)
            await publisher.publish(channel, b"before")
            assert await listener.take(1) == [(channel, b"before")]

            heard = time.monotonic()
            async with stopped("redis"):
                started = time.monotonic()
                with pytest.raises(PubSubUnavailable):
                    await publisher.publish(channel, b"lost")
                with pytest.raises(PubSubUnavailable):
                    await publisher.ping()
                assert time.monotonic() - started < 2 * TIMEOUT_S

            # Nobody subscribes again here: only the subscriber's own reconnection can
            # make a message published now arrive. Before any, it says that messages of the
            # time it was away (and a little before: since it last heard) may be lost.
            await publisher.ping()
            gap_channel, gap = (await listener.take(1, timeout_s=15))[0]
            assert gap_channel == GAP
            assert int(gap) >= (time.monotonic() - heard) * 1000 - 200
            async with asyncio.timeout(15):
                while True:
                    await publisher.publish(channel, b"after")
                    with suppress(TimeoutError):
                        assert await listener.take(1, timeout_s=0.3) == [(channel, b"after")]
                        break
            assert subscriber.reconnects >= 1
        finally:
            await publisher.close()
            await subscriber.close()


async def test_kafka_down_bounds_append_and_both_sides_recover() -> None:
    broker = service_url("kafka")
    topic, group = unique("restart"), f"test-group-{uuid.uuid4().hex}"
    async with services_lock(exclusive=True):
        log = KafkaEventLog(kafka_config(broker), timeout_s=TIMEOUT_S)
        reader = log.reader(group, [topic])
        try:
            await log.append(topic, b"k", b"before")
            await reader.commit(await read(reader, 1))

            async with stopped("kafka"):
                started = time.monotonic()
                with pytest.raises(EventLogUnavailable):
                    await log.append(topic, b"k", b"while down")
                # librdkafka's own message timeout, or ours a second later.
                assert time.monotonic() - started < TIMEOUT_S + 1.5
                with pytest.raises(EventLogUnavailable):
                    await log.ping()

            async with asyncio.timeout(30):
                while True:
                    try:
                        await log.append(topic, b"k", b"after")
                        break
                    except EventLogUnavailable:
                        await asyncio.sleep(0.2)
            await log.ping()
            # The reader that was in the group before the restart carries on.
            records: list[Record] = []
            async with asyncio.timeout(30):
                while b"after" not in [record.value for record in records]:
                    records += await reader.poll(10, 0.5)
            assert b"before" not in [record.value for record in records]
        finally:
            await reader.close()
            await log.close()
            delete_topics(log, [topic])
