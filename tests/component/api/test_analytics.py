"""Space analytics: `GET /space/{id}/analytics` over seeded events and chat messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metaverse.analytics.presence import ARRIVED, DEPARTED, Presence, replay
from metaverse.analytics.window import MAX_WINDOW_MS, parse_instant, resolve_window
from metaverse.db.ids import new_id
from metaverse.db.models import ChatMessage, ChatRoom, SpaceEvent
from metaverse.errors import InvalidInput
from tests.component.conftest import Api, ApiFactory

NOW_MS = 1_700_000_000_000  # FakeClock's start
HOUR_MS = 3_600_000
MIN_MS = 60_000
DAY_MS = 24 * HOUR_MS
ROUTE = "/api/v1/space/{space_id}/analytics"


@pytest.fixture
async def api(api_factory: ApiFactory) -> Api:
    api = await api_factory()
    assert round(api.clock.now() * 1000) == NOW_MS
    return api


async def _space(api: Api, owner: dict[str, str]) -> str:
    response = await api.client.post(
        "/api/v1/space", json={"name": "s", "dimensions": "20x20"}, headers=owner
    )
    space_id: str = response.json()["spaceId"]
    return space_id


def event(space_id: str, kind: str, ts_ms: int, **fields: Any) -> SpaceEvent:
    """A row as the consumer writes it from the recorder's JSON."""
    body = {"id": new_id(), "kind": kind, "spaceId": space_id, "ts": ts_ms, "serviceId": "t"}
    body.update(fields)
    return SpaceEvent(
        id=body["id"],
        space_id=space_id,
        kind=kind,
        user_id=fields.get("user_id"),
        call_id=fields.get("call_id"),
        ts_ms=ts_ms,
        data=json.dumps(body),
    )


def message(
    space_id: str, scope: str, ts_ms: int, sender: str, *, room_id: str | None = None
) -> ChatMessage:
    return ChatMessage(
        id=new_id(),
        space_id=space_id,
        scope=scope,
        conversation=f"room:{room_id}" if room_id else f"{scope}:{space_id}",
        room_id=room_id,
        area="Lobby" if scope == "area" else None,
        sender_id=sender,
        sender_name="someone",
        recipient_id=sender if scope == "direct" else None,
        text="hi",
        ts_ms=ts_ms,
    )


async def seed(api: Api, *rows: SpaceEvent | ChatMessage | ChatRoom) -> None:
    async with api.context.sessions() as session:
        session.add_all([row for row in rows if isinstance(row, ChatRoom)])
        await session.flush()
        session.add_all([row for row in rows if not isinstance(row, ChatRoom)])
        await session.commit()


async def _get(
    api: Api, space_id: str, headers: dict[str, str] | None, **params: str | int
) -> httpx.Response:
    return await api.client.get(ROUTE.format(space_id=space_id), params=params, headers=headers)


async def test_scripted_scenario(api: Api) -> None:
    owner_id, owner = await api.user()
    a, b, c, d, e, f, g = [(await api.user())[0] for _ in range(7)]
    space = await _space(api, owner)
    other = await _space(api, owner)
    r1, r2 = new_id(), new_id()
    start = (NOW_MS // HOUR_MS) * HOUR_MS - 3 * HOUR_MS  # an hour inside the default window
    h2 = start + HOUR_MS
    deleted = message(space, "direct", h2 + 21 * MIN_MS, a)
    deleted.deleted_at, deleted.text = datetime.now(UTC), ""
    await seed(
        api,
        ChatRoom(id=r1, space_id=space, name="r1", owner_id=owner_id),
        ChatRoom(id=r2, space_id=space, name="r2", owner_id=owner_id),
        # Before the window: `a` stays, `d` comes and goes, call c0 comes and goes.
        event(space, ARRIVED, NOW_MS - 30 * HOUR_MS, user_id=a),
        event(space, ARRIVED, NOW_MS - 26 * HOUR_MS, user_id=d),
        event(space, "call-started", NOW_MS - 26 * HOUR_MS, call_id="c0"),
        event(space, DEPARTED, NOW_MS - 25 * HOUR_MS, user_id=d),
        event(
            space,
            "call-ended",
            NOW_MS - 25 * HOUR_MS,
            call_id="c0",
            peak_size=9,
            durationMs=HOUR_MS,
        ),
        # In the window.
        event(space, ARRIVED, start, user_id=b),  # 2 present
        event(space, ARRIVED, start + 1 * MIN_MS, user_id=c),  # 3
        event(space, ARRIVED, start + 2 * MIN_MS, user_id=b),  # b twice: still 3
        event(space, "call-started", start + 3 * MIN_MS, call_id="c1"),
        event(space, "status-set", start + 5 * MIN_MS, user_id=c, status="busy", text=""),
        event(space, "proximity-entered", start + 6 * MIN_MS, user_a=b, user_b=c),
        event(space, DEPARTED, start + 10 * MIN_MS, user_id=b),  # b's balance 1: still 3
        event(
            space,
            "call-ended",
            start + 13 * MIN_MS,
            call_id="c1",
            peak_size=2,
            durationMs=10 * MIN_MS,
        ),
        event(space, "call-started", start + 20 * MIN_MS, call_id="c2"),
        event(space, DEPARTED, start + 30 * MIN_MS, user_id=a),  # 2
        event(
            space,
            "call-ended",
            start + 50 * MIN_MS,
            call_id="c2",
            peak_size=4,
            durationMs=30 * MIN_MS,
        ),
        event(space, ARRIVED, h2, user_id=e),  # 3
        event(space, ARRIVED, h2 + 1 * MIN_MS, user_id=f),  # 4: the peak
        event(space, DEPARTED, h2 + 5 * MIN_MS, user_id=c),  # 3
        event(space, DEPARTED, h2 + 6 * MIN_MS, user_id=f),  # 2: b and e
        event(space, "call-started", start + 2 * HOUR_MS, call_id="c3"),  # still running
        # After now (a clock ahead of ours), and in another space: neither counts.
        event(space, ARRIVED, NOW_MS + MIN_MS, user_id=g),
        event(space, "call-started", NOW_MS + MIN_MS, call_id="c4"),
        event(other, ARRIVED, start, user_id=g),
        event(other, "call-started", start, call_id="o1"),
        event(other, "call-ended", start + MIN_MS, call_id="o1", peak_size=7, durationMs=1),
        # Messages: every scope, two hours, two rooms.
        message(space, "nearby", start + 1 * MIN_MS, a),
        message(space, "area", start + 2 * MIN_MS, a),
        message(space, "area", start + 3 * MIN_MS, b),
        message(space, "space", start + 4 * MIN_MS, b),
        message(space, "room", start + 5 * MIN_MS, c, room_id=r1),
        message(space, "room", start + 6 * MIN_MS, c, room_id=r1),
        message(space, "room", start + 7 * MIN_MS, c, room_id=r2),
        message(space, "direct", h2 + 20 * MIN_MS, a),
        deleted,  # deleted later, but it was sent: it counts
        message(space, "room", h2 + 22 * MIN_MS, e, room_id=r1),
        message(space, "space", h2 + 23 * MIN_MS, e),
        message(space, "space", NOW_MS - 25 * HOUR_MS, a),  # before the window
        message(space, "space", NOW_MS, a),  # at `to`: outside
        message(other, "space", start, g),
    )

    response = await _get(api, space, owner)
    assert response.status_code == 200, response.text
    rooms = sorted([(start, r1, 2), (start, r2, 1), (h2, r1, 1)])
    assert response.json() == {
        "spaceId": space,
        "from": NOW_MS - DAY_MS,
        "to": NOW_MS,
        "now": {"usersPresent": 2, "callsActive": 1},
        "window": {
            "calls": 2,
            "callDurationMs": {"mean": 20 * MIN_MS, "max": 30 * MIN_MS},
            "callSize": {"mean": 3.0, "max": 4},
            "peakConcurrentUsers": 4,
            "messages": {
                "byScope": {"nearby": 1, "area": 2, "space": 2, "direct": 2, "room": 4},
                "byRoomPerHour": [
                    {"roomId": room, "hour": hour, "count": count} for hour, room, count in rooms
                ],
                "perHour": [{"hour": start, "count": 7}, {"hour": h2, "count": 4}],
            },
        },
    }

    # A later window of ISO-8601 times: only the second hour's messages, no ended call,
    # and b and e present throughout.
    later = await _get(
        api,
        space,
        owner,
        **{"from": _iso(h2 + 10 * MIN_MS), "to": _iso(start + 3 * HOUR_MS).replace("+00:00", "Z")},
    )
    assert later.status_code == 200, later.text
    body = later.json()
    assert (body["from"], body["to"]) == (h2 + 10 * MIN_MS, start + 3 * HOUR_MS)
    assert body["now"] == {"usersPresent": 2, "callsActive": 1}
    window = body["window"]
    assert window["calls"] == 0
    assert window["callDurationMs"] == window["callSize"] == {"mean": None, "max": None}
    assert window["peakConcurrentUsers"] == 2
    assert window["messages"] == {
        "byScope": {"nearby": 0, "area": 0, "space": 1, "direct": 2, "room": 1},
        "byRoomPerHour": [{"roomId": r1, "hour": h2, "count": 1}],
        "perHour": [{"hour": h2, "count": 4}],
    }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


async def test_window_bounds_include_from_and_exclude_to(api: Api) -> None:
    _, owner = await api.user()
    space = await _space(api, owner)
    frm, to = NOW_MS - 2 * HOUR_MS, NOW_MS - HOUR_MS
    await seed(
        api,
        message(space, "space", frm - 1, "u"),
        message(space, "space", frm, "u"),
        message(space, "space", to - 1, "u"),
        message(space, "space", to, "u"),
        event(space, "call-ended", frm, call_id="x", peak_size=2, durationMs=5),
        event(space, "call-ended", to, call_id="y", peak_size=3, durationMs=7),
        event(space, ARRIVED, frm - 1, user_id="early"),  # present when the window opens
        event(space, ARRIVED, to, user_id="late"),
    )
    body = (await _get(api, space, owner, **{"from": frm, "to": to})).json()
    assert body["window"]["messages"]["byScope"]["space"] == 2
    assert body["window"]["calls"] == 1
    assert body["window"]["callSize"] == {"mean": 2.0, "max": 2}
    assert body["window"]["peakConcurrentUsers"] == 1
    assert body["now"]["usersPresent"] == 2


async def test_defaults(api: Api) -> None:
    _, owner = await api.user()
    space = await _space(api, owner)
    response = await _get(api, space, owner)
    assert response.status_code == 200
    assert response.json() == {
        "spaceId": space,
        "from": NOW_MS - DAY_MS,
        "to": NOW_MS,
        "now": {"usersPresent": 0, "callsActive": 0},
        "window": {
            "calls": 0,
            "callDurationMs": {"mean": None, "max": None},
            "callSize": {"mean": None, "max": None},
            "peakConcurrentUsers": 0,
            "messages": {
                "byScope": {"nearby": 0, "area": 0, "space": 0, "direct": 0, "room": 0},
                "byRoomPerHour": [],
                "perHour": [],
            },
        },
    }
    api.clock.advance(600)  # within the access token's lifetime
    later = (await _get(api, space, owner)).json()
    assert (later["from"], later["to"]) == (NOW_MS - DAY_MS + 10 * MIN_MS, NOW_MS + 10 * MIN_MS)
    only_to = (await _get(api, space, owner, to=NOW_MS)).json()
    assert (only_to["from"], only_to["to"]) == (NOW_MS - DAY_MS, NOW_MS)
    only_from = (await _get(api, space, owner, **{"from": NOW_MS - 5 * DAY_MS})).json()
    assert (only_from["from"], only_from["to"]) == (NOW_MS - 5 * DAY_MS, NOW_MS + 10 * MIN_MS)
    month = await _get(api, space, owner, **{"from": NOW_MS - MAX_WINDOW_MS, "to": NOW_MS})
    assert month.status_code == 200


async def test_who_may_read_analytics(api: Api) -> None:
    _, owner = await api.user()
    moderator_id, moderator = await api.user()
    member_id, member = await api.user()
    _, stranger = await api.user()
    _, admin = await api.user(admin=True)
    space = await _space(api, owner)
    for user_id, role in ((moderator_id, "moderator"), (member_id, "member")):
        added = await api.client.post(
            f"/api/v1/space/{space}/members", json={"userId": user_id, "role": role}, headers=owner
        )
        assert added.status_code == 200, added.text

    assert (await _get(api, space, owner)).status_code == 200
    assert (await _get(api, space, moderator)).status_code == 200
    for headers in (member, stranger, admin):
        denied = await _get(api, space, headers)
        assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    anonymous = await _get(api, space, None)
    assert anonymous.status_code == 403 and anonymous.json()["code"] == "not_authenticated"
    bad_token = await _get(api, space, {"authorization": "Bearer nonsense"})
    assert bad_token.status_code == 401
    unknown = await _get(api, "nope", owner)
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_id"


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"to": "1.5"},
        {"from": "-5"},
        {"from": ""},
        {"from": "9" * 20},
        {"to": "253402300800000"},
        {"from": NOW_MS, "to": NOW_MS},
        {"from": NOW_MS, "to": NOW_MS - 1},
        {"from": NOW_MS + 1},
        {"from": NOW_MS - MAX_WINDOW_MS - 1, "to": NOW_MS},
        {"from": "x" * 41},
    ],
)
async def test_bad_window_is_400(api: Api, params: dict[str, str | int]) -> None:
    _, owner = await api.user()
    space = await _space(api, owner)
    response = await _get(api, space, owner, **params)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"


# The pure parts, without a database.


def test_parse_instant() -> None:
    assert parse_instant("1700000000000", field="f") == NOW_MS
    assert parse_instant("2023-11-14T22:13:20Z", field="f") == NOW_MS
    assert parse_instant("2023-11-14T23:13:20+01:00", field="f") == NOW_MS
    assert parse_instant("2023-11-14T22:13:20.5", field="f") == NOW_MS + 500  # naive: UTC
    with pytest.raises(InvalidInput):
        parse_instant("14/11/2023", field="f")


def test_resolve_window() -> None:
    assert resolve_window(None, None, now_ms=NOW_MS).from_ms == NOW_MS - DAY_MS
    assert resolve_window(None, None, now_ms=HOUR_MS).from_ms == 0
    with pytest.raises(InvalidInput) as raised:
        resolve_window(str(NOW_MS - 32 * DAY_MS), None, now_ms=NOW_MS)
    assert raised.value.details == [
        {"field": "query.from", "message": "the window is at most 31 days"}
    ]


def test_presence_counts_each_user_once() -> None:
    presence = replay({}, [("a", ARRIVED), ("a", ARRIVED), ("b", ARRIVED), ("a", DEPARTED)])
    assert (presence.present, presence.peak, presence.balances) == (2, 2, {"a": 1, "b": 1})
    presence.apply("a", DEPARTED)
    presence.apply("b", DEPARTED)
    assert (presence.present, presence.peak, presence.balances) == (0, 2, {})
    # A departure whose arrival was lost cancels the next arrival.
    assert replay({}, [("c", DEPARTED), ("c", ARRIVED)]).peak == 0
    with pytest.raises(ValueError, match="not an arrival"):
        presence.apply("a", "status-set")


changes = st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from([ARRIVED, DEPARTED])))


@given(changes, changes)
def test_replay_from_a_snapshot_equals_replay_from_the_start(
    before: list[tuple[str, str]], after: list[tuple[str, str]]
) -> None:
    whole = replay({}, before + after)
    resumed = replay(replay({}, before).balances, after)
    assert (resumed.present, resumed.balances) == (whole.present, whole.balances)
    assert resumed.peak <= whole.peak
    assert Presence(whole.balances).present == whole.present
