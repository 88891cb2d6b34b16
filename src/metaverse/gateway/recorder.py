"""Domain events → the event log (`metaverse.events`), timestamped, with call durations.

Recording never blocks a space: each event is handed to the log as it happens
(`append_soon`: no task, no waiting), and the log's own bounds hold what waits for its
acknowledgement. An event the log refuses or loses (it is down, or that far behind) is
dropped and counted, with a warning at most every WARN_EVERY_S.
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
from metaverse.protocol.codec import dumps

EVENTS_TOPIC: Final = "metaverse.events"
WARN_EVERY_S: Final = 10.0
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
        self, event_log: EventLog, clock: Clock, metrics: GatewayMetrics, *, service_id: str
    ) -> None:
        self._log = event_log
        self._clock = clock
        self._metrics = metrics
        self._service_id = service_id
        self._call_started_s: dict[tuple[SpaceId, str], float] = {}
        self._pending = 0  # appends not acknowledged yet
        self._drained: asyncio.Future[None] | None = None
        self._warned_s: float | None = None
        self.dropped = 0

    def record(self, space_id: SpaceId, events: list[ev.DomainEvent]) -> None:
        now_s = self._clock.now()
        key = space_id.encode()
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
            appended = self._log.append_soon(EVENTS_TOPIC, key, dumps(body))
            if appended.done():  # the memory log: at once
                self._settled(appended)
            else:
                self._pending += 1
                appended.add_done_callback(self._acknowledged)

    def _acknowledged(self, appended: asyncio.Future[None]) -> None:
        self._pending -= 1
        self._settled(appended)
        if not self._pending and self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def _settled(self, appended: asyncio.Future[None]) -> None:
        error = None if appended.cancelled() else appended.exception()
        if error is None:
            return
        # The log being down must not stop the gateway.
        self.dropped += 1
        now_s = self._clock.monotonic()
        if self._warned_s is None or now_s - self._warned_s >= WARN_EVERY_S:
            self._warned_s = now_s
            log.warning("could not append domain events (%d so far): %s", self.dropped, error)

    async def drain(self) -> None:
        """Wait for the appends not acknowledged yet (used on shutdown)."""
        if self._pending:
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained
