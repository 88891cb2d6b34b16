"""Analytics of one space: the queries and the handler behind `GET /space/{id}/analytics`.

- `now` reads every event up to now (`ts_ms <= now`), whatever the window: users whose
  arrivals outnumber their departures (`presence`), calls started and not yet ended.
- The window is `from <= ts_ms < to`.
- `calls` are the calls whose `call-ended` falls in the window; a call still running is
  not counted there (its duration and size are not known until it ends) but in
  `now.callsActive`. Their `durationMs` and `peak_size` give `callDurationMs` and
  `callSize` (`null` when no call ended).
- `peakConcurrentUsers` starts from the balances before `from` (one SQL aggregate) and
  replays the window's arrivals and departures in `(ts_ms, id)` order.
- Messages are every message of the space in the window, deleted ones included (they
  were sent). An hour is `ts_ms // 3_600_000 * 3_600_000` (UTC), so the first hour may
  start before `from`; hours without messages are left out; lists are ordered by hour
  (then room id).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.accounts.tokens import Principal
from metaverse.analytics.presence import ARRIVED, PRESENCE_KINDS, Presence
from metaverse.analytics.window import HOUR_MS, Window
from metaverse.chat.messages import SCOPES
from metaverse.db.models import ChatMessage, SpaceEvent
from metaverse.spaces.access import check_manage, load_space

CALL_STARTED: Final = "call-started"
CALL_ENDED: Final = "call-ended"
# Rows fetched at a time while replaying: the replay never holds a whole month in memory.
REPLAY_BATCH: Final = 1_000


async def space_analytics(
    session: AsyncSession, principal: Principal, space_id: str, window: Window, *, now_ms: int
) -> dict[str, Any]:
    space = await load_space(session, space_id)
    await check_manage(session, space, principal)
    ended = await ended_calls(session, space.id, window)
    return {
        "spaceId": space.id,
        "from": window.from_ms,
        "to": window.to_ms,
        "now": {
            "usersPresent": await users_present(session, space.id, now_ms),
            "callsActive": await calls_active(session, space.id, now_ms),
        },
        "window": {
            "calls": len(ended),
            "callDurationMs": summary(duration for duration, _ in ended),
            "callSize": summary(size for _, size in ended),
            "peakConcurrentUsers": await peak_users(session, space.id, window),
            "messages": await messages(session, space.id, window),
        },
    }


def summary(values: Iterable[int | None]) -> dict[str, float | int | None]:
    known = [value for value in values if value is not None]
    if not known:
        return {"mean": None, "max": None}
    return {"mean": sum(known) / len(known), "max": max(known)}


def _balance() -> ColumnElement[Any]:
    return func.sum(case((SpaceEvent.kind == ARRIVED, 1), else_=-1))


def _presence_before(space_id: str, end_ms: int) -> tuple[ColumnElement[bool], ...]:
    return (
        SpaceEvent.space_id == space_id,
        SpaceEvent.kind.in_(PRESENCE_KINDS),
        SpaceEvent.user_id.is_not(None),
        SpaceEvent.ts_ms < end_ms,
    )


async def users_present(session: AsyncSession, space_id: str, now_ms: int) -> int:
    present = (
        select(SpaceEvent.user_id)
        .where(*_presence_before(space_id, now_ms + 1))
        .group_by(SpaceEvent.user_id)
        .having(_balance() > 0)
        .subquery()
    )
    return int(await session.scalar(select(func.count()).select_from(present)) or 0)


async def balances(session: AsyncSession, space_id: str, end_ms: int) -> dict[str, int]:
    """Each user's arrivals minus departures before `end_ms`, where that is not zero."""
    balance = _balance()
    rows = await session.execute(
        select(SpaceEvent.user_id, balance)
        .where(*_presence_before(space_id, end_ms))
        .group_by(SpaceEvent.user_id)
        .having(balance != 0)
    )
    return {str(user_id): int(total) for user_id, total in rows}


async def peak_users(session: AsyncSession, space_id: str, window: Window) -> int:
    presence = Presence(await balances(session, space_id, window.from_ms))
    changes = await session.stream(
        select(SpaceEvent.user_id, SpaceEvent.kind)
        .where(
            *_presence_before(space_id, window.to_ms),
            SpaceEvent.ts_ms >= window.from_ms,
        )
        .order_by(SpaceEvent.ts_ms, SpaceEvent.id)
        .execution_options(yield_per=REPLAY_BATCH)
    )
    async for batch in changes.partitions():
        for user_id, kind in batch:
            presence.apply(str(user_id), kind)
    return presence.peak


async def calls_active(session: AsyncSession, space_id: str, now_ms: int) -> int:
    def count(kind: str) -> ColumnElement[Any]:
        return func.sum(case((SpaceEvent.kind == kind, 1), else_=0))

    running = (
        select(SpaceEvent.call_id)
        .where(
            SpaceEvent.space_id == space_id,
            SpaceEvent.kind.in_((CALL_STARTED, CALL_ENDED)),
            SpaceEvent.call_id.is_not(None),
            SpaceEvent.ts_ms <= now_ms,
        )
        .group_by(SpaceEvent.call_id)
        .having(count(CALL_STARTED) > 0, count(CALL_ENDED) == 0)
        .subquery()
    )
    return int(await session.scalar(select(func.count()).select_from(running)) or 0)


def _int_field(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def ended_calls(
    session: AsyncSession, space_id: str, window: Window
) -> list[tuple[int | None, int | None]]:
    """(durationMs, peak_size) of each call that ended in the window.

    Both live only in the event's JSON, and JSON functions differ between SQLite and
    PostgreSQL, so they are read here; one row per call keeps that small.
    """
    payloads = await session.scalars(
        select(SpaceEvent.data).where(
            SpaceEvent.space_id == space_id,
            SpaceEvent.kind == CALL_ENDED,
            SpaceEvent.ts_ms >= window.from_ms,
            SpaceEvent.ts_ms < window.to_ms,
        )
    )
    ended: list[tuple[int | None, int | None]] = []
    for payload in payloads:
        data = json.loads(payload)
        if not isinstance(data, dict):
            data = {}
        ended.append((_int_field(data, "durationMs"), _int_field(data, "peak_size")))
    return ended


async def messages(session: AsyncSession, space_id: str, window: Window) -> dict[str, Any]:
    in_window = (
        ChatMessage.space_id == space_id,
        ChatMessage.ts_ms >= window.from_ms,
        ChatMessage.ts_ms < window.to_ms,
    )
    by_scope: dict[str, int] = dict.fromkeys(SCOPES, 0)
    scopes = await session.execute(
        select(ChatMessage.scope, func.count()).where(*in_window).group_by(ChatMessage.scope)
    )
    for scope, total in scopes:
        by_scope[scope] = int(total)

    # The hour is computed once, in a subquery: grouping by an expression with bound
    # parameters would repeat them, and PostgreSQL does not see two copies as one.
    bucket = (ChatMessage.ts_ms // HOUR_MS).label("bucket")
    hourly = select(bucket).where(*in_window).subquery()
    per_hour = await session.execute(
        select(hourly.c.bucket, func.count()).group_by(hourly.c.bucket).order_by(hourly.c.bucket)
    )
    rooms = (
        select(ChatMessage.room_id, bucket)
        .where(*in_window, ChatMessage.scope == "room", ChatMessage.room_id.is_not(None))
        .subquery()
    )
    by_room = await session.execute(
        select(rooms.c.room_id, rooms.c.bucket, func.count())
        .group_by(rooms.c.room_id, rooms.c.bucket)
        .order_by(rooms.c.bucket, rooms.c.room_id)
    )
    return {
        "byScope": by_scope,
        "byRoomPerHour": [
            {"roomId": room_id, "hour": int(hour) * HOUR_MS, "count": int(total)}
            for room_id, hour, total in by_room
        ],
        "perHour": [{"hour": int(hour) * HOUR_MS, "count": int(total)} for hour, total in per_hour],
    }
