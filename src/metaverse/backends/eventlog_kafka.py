"""The event log on Kafka, with confluent-kafka (librdkafka).

Appends use the plain `Producer`, not `confluent_kafka.aio.AIOProducer`: the latter
resolves its asyncio futures from worker threads (not thread-safe; it fails outright
under asyncio debug mode) and hops to a thread for every message. Here `produce()` only
enqueues (it never blocks), one thread serves delivery reports, and the reports of one
`poll()` reach the event loop together, through one `call_soon_threadsafe` (one wake-up
of the loop per batch of acknowledgements, not per message). Readers use `AIOConsumer`,
whose results come back through the executor, which is safe, and read in batches.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Final

from confluent_kafka import KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.aio import AIOConsumer

# confluent_kafka.admin re-exports NewTopic without marking it public for mypy.
from confluent_kafka.cimpl import NewTopic

from metaverse.backends.eventlog import EventLogUnavailable, Record, check_record, check_topic

log = logging.getLogger(__name__)

# librdkafka scans for timed-out messages about once a second: its own verdict (with
# the reason) should normally arrive before ours.
_TIMEOUT_GRACE_S: Final = 1.0
_POLL_INTERVAL_S: Final = 0.1
# Readers ask librdkafka for records in slices this long: `consume` returns at the end of
# a slice (or sooner, with `max_records`), so batches fill up under load while a record
# that comes to an idle reader is handed over within a slice.
_BATCH_FILL_S: Final = 0.05

# An append's future, and None when the record is stored or why it is not.
_Report = tuple[asyncio.Future[None], str | None]


class KafkaEventLog:
    """`timeout_s` bounds every operation: an append that isn't acknowledged by all
    in-sync replicas in that time raises `EventLogUnavailable`."""

    def __init__(
        self,
        config: Mapping[str, str],
        *,
        timeout_s: float = 5.0,
        partitions: int = 3,
        replication_factor: int = -1,  # -1: the broker's default.replication.factor
        linger_ms: int = 10,
        session_timeout_ms: int = 10_000,
    ) -> None:
        self.config: dict[str, str | int | float | bool] = dict(config)
        self.timeout_s = timeout_s
        # How soon a reader that died without leaving (SIGKILL, a lost machine) loses its
        # partitions to the others; heartbeats come from librdkafka's own thread, so a
        # busy event loop does not make a live reader look dead.
        self.session_timeout_ms = session_timeout_ms
        # Delivery reports, from librdkafka's callbacks to the report thread's hand-off.
        self._reports: deque[_Report] = deque()
        # Every append's deadline (time.monotonic()), oldest first: the report thread
        # fails those not acknowledged by then (one timer for all, not one each).
        self._deadlines: deque[tuple[float, asyncio.Future[None], str]] = deque()
        self._partitions = partitions
        self._replication_factor = replication_factor
        self._ensured: set[str] = set()
        self._fatal: KafkaError | None = None
        self._closed = False
        self._producer = Producer(
            {
                **self.config,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": linger_ms,
                "message.timeout.ms": round(timeout_s * 1000),
                # The Java client's partitioner: one key, one partition, whoever produces.
                "partitioner": "murmur2_random",
                # Find a restarted broker within a second, not the default ten.
                "reconnect.backoff.max.ms": 1000,
                # Brokers close idle connections: routine, not an error to log.
                "log.connection.close": False,
                "error_cb": self._on_error,
                "logger": log,
            }
        )
        self._stopping = threading.Event()
        self._poller = threading.Thread(target=self._serve_reports, name="kafka-reports")
        self._poller.daemon = True
        self._poller.start()

    async def append(self, topic: str, key: bytes, value: bytes) -> None:
        await self.append_soon(topic, key, value)

    def append_soon(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[None]:
        check_record(topic, key, value)
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            self._check_usable()
            report = functools.partial(self._on_delivery, delivered, topic)
            self._producer.produce(topic, value, key, on_delivery=report)
        except EventLogUnavailable as unusable:
            delivered.set_exception(unusable)
            return delivered
        except BufferError:
            delivered.set_exception(EventLogUnavailable("the Kafka producer's queue is full"))
            return delivered
        except KafkaException as refused:
            reason = f"Kafka refused a record for {topic}: {refused}"
            delivered.set_exception(EventLogUnavailable(reason))
            return delivered
        deadline = time.monotonic() + self.timeout_s + _TIMEOUT_GRACE_S
        self._deadlines.append((deadline, delivered, topic))
        return delivered

    async def ping(self) -> None:
        self._check_usable()
        try:
            await asyncio.to_thread(self._producer.list_topics, timeout=self.timeout_s)
        except KafkaException as error:
            raise EventLogUnavailable(f"Kafka is unreachable: {error}") from error

    async def ensure_topics(self, topics: Sequence[str], partitions: int | None = None) -> None:
        """Create the topics that don't exist yet (brokers may not auto-create them, and
        auto-created ones get the broker's partition count, not ours)."""
        missing = [topic for topic in topics if topic not in self._ensured]
        if not missing:
            return
        for topic in missing:
            check_topic(topic)
        # A client per call: this is rare, and an idle admin client would keep
        # reconnecting (and logging) through every broker outage.
        options: dict[str, Any] = {**self.config, "logger": log}
        admin = AdminClient(options)
        new = [
            NewTopic(topic, partitions or self._partitions, self._replication_factor)
            for topic in missing
        ]
        created = admin.create_topics(
            new, operation_timeout=self.timeout_s, request_timeout=self.timeout_s
        )
        try:
            for topic, future in created.items():
                await self._created(topic, future)
        finally:
            admin.poll(0)  # hand its log lines to Python logging before it goes

    async def _created(self, topic: str, future: concurrent.futures.Future[None]) -> None:
        try:
            async with asyncio.timeout(self.timeout_s + _TIMEOUT_GRACE_S):
                await asyncio.wrap_future(future)
        except KafkaException as error:
            if _code(error) != KafkaError.TOPIC_ALREADY_EXISTS:
                raise EventLogUnavailable(f"could not create topic {topic}: {error}") from error
        except TimeoutError as error:
            raise EventLogUnavailable(f"could not create topic {topic} in time") from error
        self._ensured.add(topic)

    def reader(self, group: str, topics: Sequence[str]) -> KafkaReader:
        return KafkaReader(self, group, topics)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.to_thread(self._producer.flush, self.timeout_s)
        finally:
            self._stopping.set()
            await asyncio.to_thread(self._poller.join)
            await asyncio.to_thread(self._producer.close)

    def _check_usable(self) -> None:
        if self._closed:
            raise EventLogUnavailable("the event log is closed")
        if self._fatal is not None:
            # An idempotent producer that hit a fatal error can't guarantee order any
            # more; readiness fails so that the process gets restarted.
            raise EventLogUnavailable(f"the Kafka producer failed: {self._fatal.str()}")

    def _serve_reports(self) -> None:
        """Runs in its own thread: delivery reports, errors and logs are served here."""
        while not self._stopping.is_set():
            try:
                self._producer.poll(_POLL_INTERVAL_S)
            except Exception:
                log.exception("serving Kafka delivery reports failed")
            self._expire()
            self._hand_over()
        self._hand_over()

    def _on_delivery(
        self, delivered: asyncio.Future[None], topic: str, error: KafkaError | None, _: Message
    ) -> None:
        # Called by librdkafka inside poll() or flush(), in whichever thread calls them.
        reason = (
            None if error is None else f"Kafka did not store a record for {topic}: {error.str()}"
        )
        self._reports.append((delivered, reason))

    def _expire(self) -> None:
        """Report the appends that passed their deadline unacknowledged as failed (read
        from the report thread, `done()` may lag; settling checks it again)."""
        deadlines, now = self._deadlines, time.monotonic()
        while deadlines and (deadlines[0][1].done() or deadlines[0][0] <= now):
            _, delivered, topic = deadlines.popleft()
            if not delivered.done():
                reason = f"Kafka did not acknowledge a record for {topic} in {self.timeout_s} s"
                self._reports.append((delivered, reason))

    def _hand_over(self) -> None:
        """Pass the reports gathered so far to their event loops, one call per loop."""
        by_loop: dict[asyncio.AbstractEventLoop, list[_Report]] = {}
        reports = self._reports
        while reports:
            report = reports.popleft()
            by_loop.setdefault(report[0].get_loop(), []).append(report)
        for loop, batch in by_loop.items():
            # A closed loop raises RuntimeError: nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, batch)

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            self._fatal = error
            log.error("Kafka producer: fatal error: %s", error.str())
        else:
            log.warning("Kafka producer: %s", error.str())


def _settle(reports: list[_Report]) -> None:
    """In the event loop: settle each append's future with its report, in report order."""
    for delivered, reason in reports:
        if delivered.done():  # cancelled, or timed out before librdkafka's verdict came
            continue
        if reason is None:
            delivered.set_result(None)
        else:
            delivered.set_exception(EventLogUnavailable(reason))


def _code(error: KafkaException) -> int | None:
    first: Any = error.args[0] if error.args else None
    return first.code() if isinstance(first, KafkaError) else None


class KafkaReader:
    """A member of a consumer group; joins (and creates missing topics) at first poll."""

    def __init__(self, event_log: KafkaEventLog, group: str, topics: Sequence[str]) -> None:
        for topic in topics:
            check_topic(topic)
        self._log = event_log
        self._group = group
        self._topics = list(topics)
        self._consumer: AIOConsumer | None = None
        self._starting = asyncio.Lock()
        self._closed = False

    async def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        if max_records < 1:
            raise ValueError("max_records must be at least 1")
        if self._closed:
            return []
        consumer = await self._started()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            wait_s = max(0.0, min(_BATCH_FILL_S, deadline - loop.time()))
            messages: list[Message] = await consumer.consume(
                num_messages=max_records, timeout=wait_s
            )
            if messages or wait_s <= 0 or self._closed:
                break
        records: list[Record] = []
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise EventLogUnavailable(f"Kafka consumer: {error.str()}")
                log.warning("Kafka consumer: %s", error.str())
                continue
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            assert topic is not None and partition is not None and offset is not None
            key, value = message.key() or b"", message.value() or b""
            records.append(Record(topic, key, value, offset, partition))
        return records

    async def commit(self, records: Sequence[Record]) -> None:
        if not records:
            return
        if self._closed:
            raise EventLogUnavailable("the reader is closed")
        consumer = await self._started()
        ends: dict[tuple[str, int], int] = {}
        for record in records:
            where = (record.topic, record.partition)
            ends[where] = max(ends.get(where, 0), record.offset + 1)
        offsets = [TopicPartition(topic, part, end) for (topic, part), end in ends.items()]
        try:
            async with asyncio.timeout(self._log.timeout_s):
                committed: list[TopicPartition] = await consumer.commit(
                    offsets=offsets, asynchronous=False
                )
        except (KafkaException, TimeoutError) as error:
            raise EventLogUnavailable(f"offset commit failed: {error}") from error
        failed = [f"{tp.topic}[{tp.partition}]: {tp.error}" for tp in committed if tp.error]
        if failed:
            raise EventLogUnavailable(f"offset commit failed: {'; '.join(failed)}")

    async def close(self) -> None:
        self._closed = True
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.close()

    async def _started(self) -> AIOConsumer:
        async with self._starting:
            if self._consumer is not None:
                return self._consumer
            try:
                await self._log.ensure_topics(self._topics)
            except EventLogUnavailable:
                # Subscribing still works: the group waits until the topics exist.
                log.warning("could not ensure topics %s", self._topics, exc_info=True)
            consumer = AIOConsumer(
                {
                    **self._log.config,
                    "group.id": self._group,
                    "session.timeout.ms": self._log.session_timeout_ms,
                    "heartbeat.interval.ms": min(3000, self._log.session_timeout_ms // 3),
                    "enable.auto.commit": False,
                    # The broker answers a fetch once it has a megabyte or 50 ms went by
                    # (one batch slice), not at every record: a trickle of messages then
                    # costs it a fetch per slice instead of one per produce request.
                    "fetch.wait.max.ms": round(_BATCH_FILL_S * 1000),
                    "fetch.min.bytes": 1 << 20,
                    "auto.offset.reset": "earliest",
                    "reconnect.backoff.max.ms": 1000,
                    "log.connection.close": False,
                    "logger": log,
                },
                max_workers=2,
            )
            try:
                await consumer.subscribe(self._topics)
            except BaseException:
                await consumer.close()
                raise
            self._consumer = consumer
            return consumer
