"""Domain events reach the event log, timestamped, with call sizes and durations;
the gateway's metrics follow calls."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from metaverse.backends.eventlog import MemoryEventLog
from metaverse.gateway.recorder import EVENTS_TOPIC
from tests.component.gateway.conftest import World
from tests.component.gateway.test_calls import walk

SPAWN = [("spawn", 5, 5, 1, 1, "spawn")]


async def _events(world: World, count: int) -> list[dict[str, Any]]:
    log = world.gateway.event_log
    assert isinstance(log, MemoryEventLog)
    for _ in range(100):
        records = log.records(EVENTS_TOPIC)
        if len(records) >= count:
            return [json.loads(record.value) for record in records]
        await asyncio.sleep(0.02)
    raise AssertionError(f"only {len(log.records(EVENTS_TOPIC))} events arrived")


async def test_a_meeting_is_recorded(world: World) -> None:
    space = await world.space(20, 20, areas=SPAWN)
    a_id, a_token = await world.user()
    b_id, b_token = await world.user()
    a, _ = await world.join(space, a_token, capabilities=["proximity"])
    b, _ = await world.join(space, b_token, capabilities=["proximity"])
    await b.expect("call-joined")
    assert world.gateway.metrics.active_calls._value.get() == 1
    world.clock.advance(42)
    await a.send("status", {"status": "busy", "text": "focus"})
    await walk(world, b, [(6, 5), (7, 5), (8, 5), (9, 5)])
    await b.expect("call-left")
    await b.ws.close()
    await a.expect("user-joined")

    events = await _events(world, 8)
    kinds = [e["kind"] for e in events]
    assert kinds[:2] == ["user-arrived", "user-arrived"]
    assert "proximity-entered" in kinds and "proximity-left" in kinds
    assert kinds.count("call-started") == 1 and kinds.count("status-set") == 1
    ended = next(e for e in events if e["kind"] == "call-ended")
    assert ended["peak_size"] == 2
    assert ended["durationMs"] >= 42_000
    assert kinds[-1] == "user-departed"
    assert all(e["spaceId"] == space and isinstance(e["ts"], int) for e in events)
    assert {events[0]["user_id"], events[1]["user_id"]} == {a_id, b_id}
    assert world.gateway.metrics.active_calls._value.get() == 0
