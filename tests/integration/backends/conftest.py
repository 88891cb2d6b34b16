"""Every backend implementation behind one parametrised fixture: the contract suites run
the same tests against the in-memory ones and the real services."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, nullcontext

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from metaverse.backends.eventlog import EventLog, EventLogReader, Record, open_event_log
from metaverse.backends.eventlog_kafka import KafkaEventLog
from metaverse.backends.pubsub import MemoryBroker, Message, PubSub, open_pubsub
from tests.services import service_url, services_lock


def sharing(url: str | None) -> AbstractAsyncContextManager[None]:
    """Hold the services shared while a real one (`url`) is in use."""
    return services_lock(exclusive=False) if url else nullcontext()


def unique(prefix: str) -> str:
    return f"test.backends.{prefix}.{uuid.uuid4().hex}"


# Pub/sub.


class Listener:
    """Collects one client's `messages()` in the background until the client closes."""

    def __init__(self, client: PubSub) -> None:
        self.client = client
        self._received: asyncio.Queue[Message] = asyncio.Queue()
        self._collecting = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for message in self.client.messages():
            self._received.put_nowait(message)

    async def take(self, count: int, timeout_s: float = 10.0) -> list[Message]:
        """The next `count` messages; TimeoutError if they don't come in time."""
        async with asyncio.timeout(timeout_s):
            return [await self._received.get() for _ in range(count)]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.integration)])
async def make_pubsub(request: pytest.FixtureRequest) -> AsyncIterator[Callable[[], PubSub]]:
    """Clients of one backend: of one in-process broker, or of the real Redis."""
    url = service_url("redis") if request.param == "redis" else None
    broker = MemoryBroker()
    clients: list[PubSub] = []

    def make() -> PubSub:
        client = open_pubsub(url, broker)
        clients.append(client)
        return client

    async with sharing(url):
        yield make
        for client in clients:
            await client.close()


# Event log.


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.integration)])
async def event_log(request: pytest.FixtureRequest) -> AsyncIterator[EventLog]:
    broker = service_url("kafka") if request.param == "kafka" else None
    async with sharing(broker):
        log = open_event_log(broker)
        yield log
        await log.close()


@pytest.fixture
def topics(event_log: EventLog) -> Iterator[Callable[[], str]]:
    """Fresh topic names, deleted from Kafka afterwards."""
    made: list[str] = []

    def make() -> str:
        made.append(unique("topic"))
        return made[-1]

    yield make
    if isinstance(event_log, KafkaEventLog) and made:
        delete_topics(event_log, made)


def delete_topics(event_log: KafkaEventLog, names: list[str]) -> None:
    admin = AdminClient(event_log.config)  # kept alive until the futures are done
    for future in admin.delete_topics(names, operation_timeout=10).values():
        try:
            future.result(timeout=15)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise  # never created is fine (a test of rejected names)


async def read(reader: EventLogReader, count: int, timeout_s: float = 20.0) -> list[Record]:
    """Poll until `count` records have come (more fail the caller's comparison)."""
    records: list[Record] = []
    async with asyncio.timeout(timeout_s):
        while len(records) < count:
            records += await reader.poll(count - len(records), 0.5)
    return records


async def read_nothing(reader: EventLogReader, wait_s: float = 1.0) -> None:
    assert await reader.poll(100, wait_s) == []
