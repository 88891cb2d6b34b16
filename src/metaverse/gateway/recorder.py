"""Domain events → the event log (`metaverse.events`), timestamped, with call durations.

Recording never blocks a space: events wait in a bounded queue drained by one task.
If the log falls that far behind, the newest events are dropped and counted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any, Final

from metaverse.backends.eventlog import EventLog
from metaverse.clock import Clock
from metaverse.core import events as ev
from metaverse.core.geometry import Rect
from metaverse.core.ids import SpaceId
from metaverse.db.ids import new_id
from metaverse.gateway.metrics import GatewayMetrics
from metaverse.protocol.codec import COMPACT_JSON

EVENTS_TOPIC: Final = "metaverse.events"
# Records appended together, each by a task of its own: a gateway that fell behind made a
# thousand tasks in one step, stalling its loop for tens of milliseconds; 200 at a time,
# at a Kafka acknowledgement every few milliseconds, still carry tens of thousands a second.
MAX_IN_FLIGHT: Final = 200
log = logging.getLogger(__name__)


# The field names of each kind of event, looked up once: `dataclasses.fields` is slow.
_NAMES: dict[type[ev.DomainEvent], tuple[str, ...]] = {}


def _fields(event: ev.DomainEvent) -> dict[str, Any]:
    """The event's fields as JSON-ready values (faster than `dataclasses.asdict`)."""
    names = _NAMES.get(type(event))
    if names is None:
        names = _NAMES[type(event)] = tuple(f.name for f in dataclasses.fields(event))
    values: dict[str, Any] = {}
    for name in names:
        value = getattr(event, name)
        if isinstance(value, Rect):  # the only nested value: a viewport
            value = {"x": value.x, "y": value.y, "width": value.width, "height": value.height}
        values[name] = value
    return values


class Recorder:
    def __init__(
        self,
        event_log: EventLog,
        clock: Clock,
        metrics: GatewayMetrics,
        *,
        service_id: str,
        queue_size: int = 10_000,
    ) -> None:
        self._log = event_log
        self._clock = clock
        self._metrics = metrics
        self._service_id = service_id
        self._queue: asyncio.Queue[tuple[bytes, bytes]] = asyncio.Queue(queue_size)
        self._call_started_s: dict[tuple[SpaceId, str], float] = {}
        self.dropped = 0

    def record(self, space_id: SpaceId, events: list[ev.DomainEvent]) -> None:
        now_s = self._clock.now()
        for event in events:
            body: dict[str, Any] = {
                # A unique id makes storing the event idempotent when the log replays it.
                "id": new_id(),
                "kind": event.KIND,
                "spaceId": space_id,
                "ts": round(now_s * 1000),
                "serviceId": self._service_id,
                **_fields(event),
            }
            if isinstance(event, ev.CallStarted):
                self._call_started_s[(space_id, event.call_id)] = now_s
                self._metrics.active_calls.inc()
            elif isinstance(event, ev.CallEnded):
                started_s = self._call_started_s.pop((space_id, event.call_id), now_s)
                body["durationMs"] = round((now_s - started_s) * 1000)
                self._metrics.active_calls.dec()
                self._metrics.call_size.observe(event.peak_size)
                self._metrics.call_duration.observe(now_s - started_s)
            value = COMPACT_JSON.encode(body).encode()
            try:
                self._queue.put_nowait((space_id.encode(), value))
            except asyncio.QueueFull:
                self.dropped += 1

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_IN_FLIGHT and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            # Appended together: each append waits for the log's acknowledgement, and one
            # at a time that would cap a gateway at a few hundred events a second. Records
            # enter the producer in order, so each space's events keep theirs.
            failures: list[BaseException] = []
            if len(batch) == 1:
                # Alone: no task to make for it (and the memory log appends without waiting).
                # Whatever comes meanwhile gathers in the queue for the next batch.
                try:
                    await self._log.append(EVENTS_TOPIC, *batch[0])
                except Exception as error:
                    failures.append(error)
            else:
                results = await asyncio.gather(
                    *(self._log.append(EVENTS_TOPIC, key, value) for key, value in batch),
                    return_exceptions=True,
                )
                failures = [r for r in results if isinstance(r, BaseException)]
            if failures:  # the log being down must not stop the gateway
                log.warning("could not append %d domain events: %s", len(failures), failures[0])
                self.dropped += len(failures)

    async def drain(self) -> None:
        """Append what is queued (used on shutdown)."""
        while not self._queue.empty():
            key, value = self._queue.get_nowait()
            await self._log.append(EVENTS_TOPIC, key, value)
