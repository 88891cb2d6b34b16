"""The persistence invariant on the real Kafka and PostgreSQL, with faults placed instead
of timed: the consumer (in this process, so that faults can be put where they matter)
commits a batch's offsets only once the batch is stored and its poison records are
dead-lettered. Whatever fails before that, the next member of the group gets the batch
again and stores every record exactly once.

Each test here fails if `Consumer.run` commits the offsets before it processes the
batch, which the SIGKILL test of `test_consumer.py` almost never notices: a kill rarely
lands between the two. The component tests (`tests/component/consumer/test_crashes.py`)
prove the same on the in-memory log; these prove that Kafka's group commits behave alike.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from metaverse.backends.eventlog import EventLog, Record
from metaverse.backends.eventlog_kafka import KafkaEventLog
from metaverse.chat.messages import CHAT_DLQ_TOPIC, CHAT_TOPIC
from metaverse.clock import SystemClock
from metaverse.consumer.service import Consumer
from metaverse.consumer.writers import BatchWriter, writer_for
from metaverse.db.engine import make_engine, make_sessionmaker
from metaverse.db.migrate import upgrade
from metaverse.db.models import ChatMessage, Space, User
from tests.conftest import run_isolated
from tests.consumer_faults import (
    BeforeWrite,
    DeadLettersFail,
    FailingWrite,
    Recording,
    StopAfterWrite,
)
from tests.integration.pipeline.conftest import (
    ALL_TOPICS,
    database_admin,
    database_url,
    end_offsets,
    ensure_topics,
    eventually,
    read_records,
    seeded_group,
    services_held,
    unique,
)
from tests.messages import chat
from tests.services import service_url

pytestmark = pytest.mark.integration

COUNT = 30
TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A migrated database of this module's own."""
    name = unique("metaverse_consumer_faults_")
    url = database_url(name)

    async def migrate() -> None:
        engine = make_engine(url)
        await upgrade(engine)
        await engine.dispose()

    with services_held(exclusive=False):
        database_admin(f'CREATE DATABASE "{name}"')
        try:
            run_isolated(migrate())
            ensure_topics(service_url("kafka"), ALL_TOPICS)
            yield url
        finally:
            database_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Bench:
    """A space, the event log, and consumers of one fresh group (starting at the topics'
    current ends) on the module's database."""

    engine: AsyncEngine
    log: KafkaEventLog
    broker: str
    group: str
    space_id: str

    def consumer(self, writer: BatchWriter | None = None, log: EventLog | None = None) -> Consumer:
        return Consumer(
            log or self.log,
            writer or writer_for(self.engine),
            CollectorRegistry(),
            group=self.group,
            batch_size=500,
            batch_wait_s=0.05,
            clock=SystemClock(),
        )

    def mine(self, record: Record) -> bool:
        return self.space_id.encode() in record.value

    async def send(self, count: int = COUNT) -> set[str]:
        """`count` chat messages of the space; their ids."""
        messages = [chat(self.space_id, f"m{n}") for n in range(count)]
        for message in messages:
            await self.log.append(CHAT_TOPIC, message.conversation.encode(), message.to_bytes())
        return {message.id for message in messages}

    async def stored(self) -> tuple[set[str], int]:
        """The ids of the space's stored messages, and how many rows they are."""
        async with self.engine.connect() as connection:
            where = ChatMessage.space_id == self.space_id
            ids = set(await connection.scalars(select(ChatMessage.id).where(where)))
            rows = await connection.scalar(
                select(func.count()).select_from(ChatMessage).where(where)
            )
        return ids, int(rows or 0)

    async def until_stored(self, ids: set[str]) -> None:
        async def all_there() -> bool:
            return ids <= (await self.stored())[0]

        await eventually(all_there, f"storing {len(ids)} messages", TIMEOUT_S)


@pytest.fixture
async def bench(database: str) -> AsyncIterator[Bench]:
    engine = make_engine(database)
    broker = service_url("kafka")
    group = await asyncio.to_thread(seeded_group, broker)
    async with make_sessionmaker(engine)() as session:
        owner = User(username=unique("u"), password_hash="x")
        session.add(owner)
        await session.flush()
        space = Space(name="faults", owner_id=owner.id, width=10, height=10)
        session.add(space)
        await session.commit()
        space_id = space.id
    log = KafkaEventLog({"bootstrap.servers": broker})
    try:
        yield Bench(engine, log, broker, group, space_id)
    finally:
        await log.close()
        await engine.dispose()


async def fails(consumer: Consumer) -> BaseException:
    """Run `consumer` until its loop fails; the error."""
    async with asyncio.timeout(TIMEOUT_S):
        with pytest.raises(Exception) as raised:
            await consumer.run()
    return raised.value


@contextlib.asynccontextmanager
async def running(consumer: Consumer) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(consumer.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_batch_whose_write_fails_is_stored_by_the_next_consumer(bench: Bench) -> None:
    """An error inside the transaction stops the consumer before its offset commit: the
    next member of the group gets the batch and stores it all, once."""
    ids = await bench.send()
    failing = FailingWrite(writer_for(bench.engine), bench.mine)
    assert "injected" in str(await fails(bench.consumer(failing)))
    assert failing.failed and (await bench.stored())[1] == 0

    async with running(bench.consumer()):
        await bench.until_stored(ids)
    assert await bench.stored() == (ids, COUNT)


class Proxy:
    """A TCP forwarder to the database: cutting it is, for the clients going through it,
    the database stopping (their connections drop, new ones are refused), while the real
    server goes on serving everyone else."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._transports: list[asyncio.WriteTransport] = []
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _accept(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        server_in, server_out = await asyncio.open_connection(*self._target)
        self._transports += [client_out.transport, server_out.transport]
        for source, sink in ((client_in, server_out), (server_in, client_out)):
            pipe = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.close()

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
        for transport in self._transports:
            transport.abort()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)


async def test_a_batch_written_as_the_database_stops_is_stored_after_it_comes_back(
    bench: Bench, database: str
) -> None:
    """The database goes away just as a batch is to be written (through the pool's live
    connection): the consumer fails without committing, and once the database is back,
    the next consumer stores every record, once."""
    url = make_url(database)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    through = url.set(host="127.0.0.1", port=await proxy.start())
    engine = make_engine(through.render_as_string(hide_password=False))
    try:
        async with engine.connect() as connection:  # a live pooled connection to lose
            await connection.execute(text("SELECT 1"))
        ids = await bench.send()
        stopping = BeforeWrite(writer_for(engine), proxy.cut, bench.mine)
        await fails(bench.consumer(stopping))
        assert stopping.done
    finally:
        await proxy.cut()
        await engine.dispose()

    async with running(bench.consumer()):
        await bench.until_stored(ids)
    assert await bench.stored() == (ids, COUNT)


async def test_a_stop_between_the_database_commit_and_the_offset_commit_stores_once(
    bench: Bench,
) -> None:
    """Stopped once its batch is stored but before the offsets are committed, the
    consumer leaves the batch to the next member, which reads it again and inserts
    nothing twice."""
    ids = await bench.send()
    stopping = StopAfterWrite(writer_for(bench.engine), bench.mine)
    async with running(bench.consumer(stopping)):
        async with asyncio.timeout(TIMEOUT_S):
            await stopping.reached.wait()
    stored_first, _ = await bench.stored()
    assert stored_first  # the stopped batch is in the database

    again = Recording(writer_for(bench.engine))
    where = {(r.topic, r.partition, r.offset) for r in stopping.stored}

    async def read_again() -> bool:
        return where <= {(r.topic, r.partition, r.offset) for r in again.seen}

    async with running(bench.consumer(again)):
        await eventually(read_again, "the next consumer reading the stopped batch again", TIMEOUT_S)
        await bench.until_stored(ids)
    assert await bench.stored() == (ids, COUNT)


async def test_a_poison_record_whose_dead_letter_fails_is_dead_lettered_after_a_restart(
    bench: Bench,
) -> None:
    """The offset of a poison record is committed only once its dead letter is durable."""
    dlq_start = await asyncio.to_thread(end_offsets, bench.broker, CHAT_DLQ_TOPIC)
    marker = unique("poison-")
    key = f"space:{bench.space_id}".encode()
    await bench.log.append(
        CHAT_TOPIC, key, f'{{"id": "{marker}", "space_id": "{bench.space_id}"'.encode()
    )
    ids = await bench.send()

    log = DeadLettersFail(bench.log, lambda value: marker.encode() in value)
    await fails(bench.consumer(log=log))
    assert log.failed == 1

    async def dead_lettered() -> bool:
        return any(marker.encode() in value for value in log.dead_lettered)

    async with running(bench.consumer(log=log)):  # the broker is back
        await eventually(dead_lettered, "the next consumer dead-lettering the record", TIMEOUT_S)
        await bench.until_stored(ids)

    def found(envelopes: list[dict[str, str]]) -> bool:
        return any(marker in envelope["value"] for envelope in envelopes)

    envelopes = await asyncio.to_thread(
        read_records, bench.broker, CHAT_DLQ_TOPIC, dlq_start, found
    )
    # Other tests' consumer groups, reading the same topics, may dead-letter it too.
    reasons = [envelope["reason"] for envelope in envelopes if marker in envelope["value"]]
    assert all(reason.startswith("unparseable:") for reason in reasons), reasons
    assert await bench.stored() == (ids, COUNT)
