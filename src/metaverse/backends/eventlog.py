"""The event log: an append-only, keyed, per-topic record stream (Kafka in service mode).

Records are bytes: the in-memory log stores exactly what Kafka would, so anything that
cannot be serialised fails in tests rather than in production.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    key: bytes
    value: bytes
    offset: int


class EventLog(Protocol):
    async def append(self, topic: str, key: bytes, value: bytes) -> None:
        """Append one record; returns once it is durable for this implementation."""
        ...

    async def close(self) -> None: ...


class MemoryEventLog:
    """Keeps the newest `retain` records of each topic in memory."""

    def __init__(self, retain: int = 100_000) -> None:
        self._retain = retain
        self._topics: dict[str, deque[Record]] = {}
        self._offsets: dict[str, int] = {}

    async def append(self, topic: str, key: bytes, value: bytes) -> None:
        if not isinstance(key, bytes) or not isinstance(value, bytes):
            raise TypeError("event log records are bytes")
        offset = self._offsets.get(topic, 0)
        self._offsets[topic] = offset + 1
        records = self._topics.setdefault(topic, deque(maxlen=self._retain))
        records.append(Record(topic, key, value, offset))

    def records(self, topic: str) -> list[Record]:
        return list(self._topics.get(topic, ()))

    async def close(self) -> None:
        self._topics.clear()
