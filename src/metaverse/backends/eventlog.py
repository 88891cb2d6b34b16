"""The event log: an append-only, keyed, per-topic record stream (Kafka in service mode).

Records are bytes: the in-memory log stores exactly what Kafka would, so anything that
cannot be serialised fails in tests rather than in production. Delivery to readers is
at-least-once: a record is redelivered to its group until a reader commits it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

# Kafka's own rule for topic names; the memory log enforces it too.
_TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    key: bytes
    value: bytes
    offset: int
    partition: int = 0


class EventLogUnavailable(Exception):
    """The log could not confirm an operation in bounded time: the record may or may not
    have been stored, so a retry may duplicate it (readers must be idempotent)."""


class EventLogReader(Protocol):
    """One member of a consumer group."""

    async def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        """Up to `max_records` records, waiting at most `timeout_s` for the first.
        Per partition (so per key), records come in append order."""
        ...

    async def commit(self, records: Sequence[Record]) -> None:
        """Mark these records processed (offset + 1 per partition): only then does the
        group stop redelivering them. Raises `EventLogUnavailable` if not confirmed."""
        ...

    async def close(self) -> None: ...


class EventLog(Protocol):
    async def append(self, topic: str, key: bytes, value: bytes) -> None:
        """Append one record; returns once it is durable, else raises `EventLogUnavailable`
        within a bounded time. Records of one key keep their order."""
        ...

    def append_soon(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[None]:
        """`append` without a coroutine: the record is on its way when this returns (so
        records of one key keep the order of these calls), and the future is done once it
        is durable, or fails with `EventLogUnavailable` within a bounded time. For senders
        of many records a second, to whom a task per record costs more than the append."""
        ...

    async def ping(self) -> None:
        """Raise `EventLogUnavailable` if the log can't be reached (readiness)."""
        ...

    async def close(self) -> None: ...

    def reader(self, group: str, topics: Sequence[str]) -> EventLogReader:
        """A new member of `group` reading `topics`, resuming after the group's commits."""
        ...


def check_record(topic: str, key: object, value: object) -> None:
    """Reject what Kafka would not store as given: keys and values are `bytes` only."""
    check_topic(topic)
    if type(key) is not bytes or type(value) is not bytes:
        raise TypeError(
            f"event log keys and values are bytes, not {type(key).__name__}"
            f" and {type(value).__name__}"
        )


def check_topic(topic: object) -> None:
    if not isinstance(topic, str):
        raise TypeError(f"a topic name is a str, not {type(topic).__name__}")
    if not _TOPIC_NAME.fullmatch(topic) or topic in (".", ".."):
        raise ValueError(f"invalid topic name {topic!r}: 1-249 of [a-zA-Z0-9._-]")


@dataclass(slots=True)
class _Group:
    committed: dict[str, int] = field(default_factory=dict)
    # The first member owns every topic's single partition, as Kafka's assignors do with
    # one partition; the next one takes over (from the commits) when it leaves.
    members: list[MemoryReader] = field(default_factory=list)
    epoch: int = 0
    topics: set[str] = field(default_factory=set)


class MemoryEventLog:
    """The event log of a single process: one partition per topic, keeping the newest
    `retain` records of each (about 40 MB per topic at the default and ~300-byte records).

    Records a consumer group has not committed yet are never dropped: when `retain` of them
    wait, `append` refuses with `EventLogUnavailable` (senders get a retryable error)
    until the consumer catches up. Topics nobody reads keep only the newest `retain`."""

    def __init__(self, retain: int = 100_000) -> None:
        self._retain = retain
        self._topics: dict[str, list[Record]] = {}
        self._first: dict[str, int] = {}  # offset of each topic's oldest kept record
        self._groups: dict[str, _Group] = {}
        self._changed = asyncio.Event()

    async def append(self, topic: str, key: bytes, value: bytes) -> None:
        await self.append_soon(topic, key, value)

    def append_soon(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[None]:
        check_record(topic, key, value)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            self._append(topic, key, value)
        except EventLogUnavailable as error:
            done.set_exception(error)
        else:
            done.set_result(None)
        return done

    def _append(self, topic: str, key: bytes, value: bytes) -> None:
        records = self._topics.setdefault(topic, [])
        first = self._first.setdefault(topic, 0)
        offset = first + len(records)
        floor = self._unconsumed_from(topic)
        if floor is not None and offset - floor >= self._retain:
            raise EventLogUnavailable(
                f"{self._retain} records of {topic} wait for the consumer; try again shortly"
            )
        records.append(Record(topic, key, value, offset))
        # Trim in chunks of a tenth so appending stays O(1) amortised, and never below what
        # a group still has to read.
        keep_from = offset + 1 - self._retain
        if floor is not None:
            keep_from = min(keep_from, floor)
        excess = keep_from - first
        if excess > 0 and excess >= max(1, self._retain // 10):
            del records[:excess]
            self._first[topic] = first + excess
        self._notify()

    def _unconsumed_from(self, topic: str) -> int | None:
        """The oldest offset of `topic` some group has not committed; None if none reads it."""
        floors = [g.committed.get(topic, 0) for g in self._groups.values() if topic in g.topics]
        return min(floors) if floors else None

    def records(self, topic: str) -> list[Record]:
        """The newest `retain` records of `topic`, oldest first."""
        return self._topics.get(topic, [])[-self._retain :]

    def read(self, topic: str, offset: int, limit: int) -> list[Record]:
        """Up to `limit` records of `topic` from `offset` on (or from the oldest kept)."""
        records = self._topics.get(topic, [])
        start = max(0, offset - self._first.get(topic, 0))
        return records[start : start + limit]

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._topics.clear()
        self._first.clear()
        self._notify()

    def reader(self, group: str, topics: Sequence[str]) -> MemoryReader:
        for topic in topics:
            check_topic(topic)
        state = self._groups.setdefault(group, _Group())
        state.topics.update(topics)
        reader = MemoryReader(self, state, tuple(topics))
        state.members.append(reader)
        if len(state.members) == 1:
            state.epoch += 1
        return reader

    def changed(self) -> asyncio.Event:
        """Set at the next append or membership change (a fresh event each time)."""
        return self._changed

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


class MemoryReader:
    def __init__(self, log: MemoryEventLog, group: _Group, topics: tuple[str, ...]) -> None:
        self._log = log
        self._group = group
        self._topics = topics
        self._positions: dict[str, int] = {}
        self._epoch = -1  # the group epoch the positions were loaded in
        self._closed = False

    async def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        if max_records < 1:
            raise ValueError("max_records must be at least 1")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not self._closed:
            changed = self._log.changed()
            batch = self._fetch(max_records)
            if batch:
                return batch
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                async with asyncio.timeout(remaining):
                    await changed.wait()
            except TimeoutError:
                break
        return []

    def _fetch(self, max_records: int) -> list[Record]:
        group = self._group
        if not group.members or group.members[0] is not self:
            return []
        if self._epoch != group.epoch:  # just became the owner: resume after the commits
            self._epoch = group.epoch
            self._positions = {topic: group.committed.get(topic, 0) for topic in self._topics}
        batch: list[Record] = []
        for topic in self._topics:
            records = self._log.read(topic, self._positions[topic], max_records - len(batch))
            if records:
                batch += records
                self._positions[topic] = records[-1].offset + 1
        return batch

    async def commit(self, records: Sequence[Record]) -> None:
        for record in records:
            committed = self._group.committed
            committed[record.topic] = max(committed.get(record.topic, 0), record.offset + 1)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        members = self._group.members
        if members and members[0] is self:
            self._group.epoch += 1
        members.remove(self)
        self._log._notify()


def open_event_log(
    kafka_broker: str | None,
    *,
    security_protocol: str = "PLAINTEXT",
    sasl_mechanism: str | None = None,
    username: str | None = None,
    password: str | None = None,
    ca_file: str | None = None,
    timeout_s: float = 5.0,
    session_timeout_ms: int = 10_000,
    linger_ms: int = 10,
) -> EventLog:
    """Kafka when a bootstrap `host:port[,...]` is given, else a log of this process."""
    if not kafka_broker:
        return MemoryEventLog()
    # Imported here so that single-process mode never loads librdkafka.
    from metaverse.backends.eventlog_kafka import KafkaEventLog
    from metaverse.backends.kafka_config import kafka_config

    config = kafka_config(
        kafka_broker,
        security_protocol=security_protocol,
        sasl_mechanism=sasl_mechanism,
        username=username,
        password=password,
        ca_file=ca_file,
    )
    return KafkaEventLog(
        config, timeout_s=timeout_s, session_timeout_ms=session_timeout_ms, linger_ms=linger_ms
    )
