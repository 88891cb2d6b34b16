"""The consumer loop: poll a batch, write it in one transaction, dead-letter what can't be
written, and only then commit the offsets. A crash anywhere before the offset commit
replays the batch, and the idempotent inserts make the replay harmless.

Records of a space (or chat room) deleted after they were sent are dropped, not
dead-lettered: the space's messages and events were deleted with it, and these go the
same way. They are counted (`metaverse_consumer_dropped_total`) and logged."""

from __future__ import annotations

import asyncio
import json
import logging
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from metaverse.backends.eventlog import EventLog, EventLogReader, EventLogUnavailable, Record
from metaverse.chat.messages import CHAT_DLQ_TOPIC, CHAT_TOPIC
from metaverse.clock import Clock
from metaverse.consumer.sinks import SINKS, Parsed, Rejected
from metaverse.consumer.writers import BatchWriter
from metaverse.gateway.recorder import EVENTS_TOPIC

log = logging.getLogger(__name__)

TOPICS = (CHAT_TOPIC, EVENTS_TOPIC)
DLQ = {CHAT_TOPIC: CHAT_DLQ_TOPIC, EVENTS_TOPIC: f"{EVENTS_TOPIC}.dlq"}


class ConsumerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.records = Counter(
            "metaverse_consumer_records",
            "Records consumed, by topic.",
            ["topic"],
            registry=registry,
        )
        self.batch_size = Histogram(
            "metaverse_consumer_batch_size",
            "Records per batch.",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 5000),
            registry=registry,
        )
        self.insert_seconds = Histogram(
            "metaverse_consumer_insert_duration_seconds",
            "Time to write and commit one batch.",
            registry=registry,
        )
        self.commit_failures = Counter(
            "metaverse_consumer_commit_failures",
            "Offset commits that failed (the broker was away); the batch is stored, and a "
            "later commit covers it.",
            registry=registry,
        )
        self.dead_letters = Counter(
            "metaverse_consumer_dead_letters",
            "Records sent to a dead-letter topic, by topic.",
            ["topic"],
            registry=registry,
        )
        self.dropped = Counter(
            "metaverse_consumer_dropped",
            "Records not stored by design, by topic and reason (space_deleted, room_deleted:"
            " what they belong to was deleted after they were sent).",
            ["topic", "reason"],
            registry=registry,
        )
        self.lag = Gauge(
            "metaverse_consumer_lag_seconds",
            "How old the newest record of the last batch was when it was stored.",
            registry=registry,
        )


class Consumer:
    def __init__(
        self,
        event_log: EventLog,
        writer: BatchWriter,
        registry: CollectorRegistry,
        *,
        group: str,
        batch_size: int,
        batch_wait_s: float,
        clock: Clock,
    ) -> None:
        self._log = event_log
        self._clock = clock
        self._writer = writer
        self.metrics = ConsumerMetrics(registry)
        self._group = group
        self._batch_size = batch_size
        self._batch_wait_s = batch_wait_s
        self.batches = 0

    async def run(self) -> None:
        reader = self._log.reader(self._group, TOPICS)
        loop = asyncio.get_running_loop()
        try:
            while True:
                polled_at = loop.time()
                records = await reader.poll(self._batch_size, self._batch_wait_s)
                if records:
                    await self.process(records)
                    await self._commit(reader, records)
                if len(records) < self._batch_size:
                    # Keeping up: let the next batch gather for the batch wait, rather than
                    # writing a transaction for every record or two as they come (a reader
                    # of the in-memory log hands over the first record at once).
                    await asyncio.sleep(polled_at + self._batch_wait_s - loop.time())
        finally:
            await reader.close()
            await self.close()

    async def close(self) -> None:
        """Let go of the database writer (`run` does, as it ends)."""
        await self._writer.close()

    async def _commit(self, reader: EventLogReader, records: list[Record]) -> None:
        """Commit the offsets of a stored batch. A commit that fails while the broker is away
        is not fatal: the rows are in the database, the next commit (of later offsets) covers
        this one, and should this process stop first, the replay inserts nothing."""
        try:
            await reader.commit(records)
        except EventLogUnavailable as error:
            self.metrics.commit_failures.inc()
            log.warning("offset commit failed, carrying on: %s", error)

    async def process(self, records: list[Record]) -> None:
        started_s = time.perf_counter()
        by_topic: dict[str, list[Record]] = {}
        for record in records:
            by_topic.setdefault(record.topic, []).append(record)
        rejected: Rejected = []
        batches: list[Parsed] = []
        for topic, batch in by_topic.items():
            self.metrics.records.labels(topic).inc(len(batch))
            sink = SINKS.get(topic)
            if sink is None:
                rejected += [(record, f"no sink for topic {topic}") for record in batch]
                continue
            parsed = sink.parse(batch)
            rejected += parsed.rejected
            batches.append(parsed)
        written = await self._writer.write(batches)
        rejected += written.rejected
        self._count_dropped(written.dropped)
        newest_ms = max((parsed.newest_ms for parsed in batches), default=0)
        if newest_ms:
            self.metrics.lag.set(max(0.0, self._clock.now() - newest_ms / 1000))
        for record, reason in rejected:
            await self._dead_letter(record, reason)
        self.batches += 1
        self.metrics.batch_size.observe(len(records))
        self.metrics.insert_seconds.observe(time.perf_counter() - started_s)

    def _count_dropped(self, dropped: Rejected) -> None:
        counts: dict[tuple[str, str], int] = {}
        for record, reason in dropped:
            counts[record.topic, reason] = counts.get((record.topic, reason), 0) + 1
        for (topic, reason), count in counts.items():
            log.info("dropped %d records of %s: %s", count, topic, reason)
            self.metrics.dropped.labels(topic, reason).inc(count)

    async def _dead_letter(self, record: Record, reason: str) -> None:
        dlq = DLQ.get(record.topic, f"{record.topic}.dlq")
        envelope = {
            "reason": reason,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key.decode(errors="replace"),
            "value": record.value.decode(errors="replace"),
        }
        log.warning(
            "dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason
        )
        await self._log.append(dlq, record.key, json.dumps(envelope).encode())
        self.metrics.dead_letters.labels(record.topic).inc()
