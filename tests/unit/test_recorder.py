"""The recorder hands each domain event to the log as it happens: what the log refuses is
dropped and counted (never an error in the space), and shutting down waits for the rest."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from prometheus_client import CollectorRegistry

from metaverse.backends.eventlog import EventLogUnavailable, MemoryEventLog
from metaverse.clock import FakeClock
from metaverse.core import events as ev
from metaverse.core.ids import SpaceId, UserId
from metaverse.gateway.metrics import GatewayMetrics
from metaverse.gateway.recorder import EVENTS_TOPIC, WARN_EVERY_S, Recorder

SPACE = SpaceId("space-1")


class SlowLog(MemoryEventLog):
    """Acknowledges appends only when told to; refuses them while `down`."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[tuple[asyncio.Future[None], bytes]] = []
        self.down = False

    def append_soon(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.down:
            future.set_exception(EventLogUnavailable("down"))
        else:
            self.waiting.append((future, value))
        return future

    def acknowledge(self) -> None:
        for future, _ in self.waiting:
            future.set_result(None)
        self.waiting.clear()


def recorder(log: MemoryEventLog, clock: FakeClock) -> Recorder:
    return Recorder(log, clock, GatewayMetrics(CollectorRegistry()), service_id="gw-test")


def arrivals(count: int) -> list[ev.DomainEvent]:
    return [
        ev.UserArrived(UserId(f"u{n}"), n, 0, "available", "", True, None) for n in range(count)
    ]


async def test_events_are_appended_in_order_with_their_envelope() -> None:
    log = MemoryEventLog()
    recorder(log, FakeClock()).record(SPACE, arrivals(3))
    records = log.records(EVENTS_TOPIC)
    bodies = [json.loads(record.value) for record in records]
    assert [b["user_id"] for b in bodies] == ["u0", "u1", "u2"]
    assert all(r.key == SPACE.encode() for r in records)
    assert all(b["kind"] == "user-arrived" and b["serviceId"] == "gw-test" for b in bodies)
    assert len({b["id"] for b in bodies}) == 3


async def test_refused_events_are_dropped_counted_and_warned_about_now_and_then(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log, clock = SlowLog(), FakeClock()
    log.down = True
    events = recorder(log, clock)
    with caplog.at_level(logging.WARNING, logger="metaverse.gateway.recorder"):
        events.record(SPACE, arrivals(5))
        assert events.dropped == 5
        assert len(caplog.records) == 1
        clock.advance(WARN_EVERY_S)
        events.record(SPACE, arrivals(1))
    assert events.dropped == 6
    assert len(caplog.records) == 2 and "6 so far" in caplog.records[-1].getMessage()


async def test_draining_waits_for_the_appends_not_acknowledged_yet() -> None:
    log = SlowLog()
    events = recorder(log, FakeClock())
    events.record(SPACE, arrivals(3))
    drain = asyncio.ensure_future(events.drain())
    await asyncio.sleep(0.01)
    assert not drain.done()
    log.acknowledge()
    await asyncio.wait_for(drain, 1)
    assert events.dropped == 0
    await asyncio.wait_for(events.drain(), 1)  # nothing waits: at once
