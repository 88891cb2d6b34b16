"""A hostile client's frames against an in-process gateway, on SQLite and PostgreSQL.

Hypothesis draws frames of every kind (each message type with fields missing, of the
wrong type, out of range, or holding NUL, controls, bidi and zero-width characters and
halves of UTF-16 pairs; unknown types and fields; any JSON, any text, binary; from empty
to near the 64 KiB limit) and a joined client sends them one at a time, beside a second
client in the same space and call. After each frame both clients get a reply to a
sentinel of their own, which proves the connection open and, since a connection's replies
come in order, that every frame the fuzzed one caused has arrived. Then:

- no connection was closed, nothing was logged as a fault (which would have been a 1011);
- a refused frame (answered with `error`, `chat-error`, `movement-rejected` or
  `signal-rejected`) changed nothing: the space's state is the same, nothing was stored,
  and the other client received nothing;
- a frame with a control character in any of its message's strings (but signaling
  `data`, relayed as it came) was refused; error codes are the documented ones.
"""

from __future__ import annotations

import itertools
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from metaverse.backends.eventlog import MemoryEventLog
from metaverse.chat.messages import CHAT_TOPIC
from metaverse.core.ids import SpaceId, UserId
from metaverse.gateway.host import SpaceHost
from metaverse.protocol.messages import CLIENT_MESSAGES, MAX_FRAME_BYTES, STATUSES
from metaverse.text import has_forbidden_chars
from tests.component.gateway.conftest import Client, World, WorldFactory
from tests.component.gateway.test_characters import room
from tests.component.gateway.test_chat import crowd

# A failing example is reported with its frame, which may be near the 64 KiB limit.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
FUZZ = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CAPABILITIES = ["profiles", "proximity", "presence", "interest", "chat"]
# A small space, so that the two clients are near each other (in one call) most of the time.
SIDE = 7
SPAWN = [("spawn", 3, 3, 1, 1, "spawn"), ("den", 0, 0, 3, 3, "room")]
WHOLE = {"x": 0, "y": 0, "width": SIDE, "height": SIDE}

ERROR_CODES = {
    "invalid_json",
    "invalid_frame",
    "unknown_type",
    "invalid_message",
    "invalid_characters",
    "not_joined",
    "already_joined",
    "no_capability",
}
CHAT_ERROR_CODES = {
    "missing_client_id",
    "empty",
    "too_long",
    "invalid_characters",
    "invalid_message",
    "rate_limited",
    "not_in_area",
    "missing_recipient",
    "unknown_recipient",
    "missing_room",
    "unknown_room",
    "not_a_member",
}
REFUSALS = {"error", "chat-error", "movement-rejected", "signal-rejected"}

# Placeholders for what exists only once the gateway runs.
SELF, OTHER, ROOM, SPACE, TOKEN = "@self", "@other", "@room", "@space", "@token"

# Characters that break the rule, or that look alike, or that JSON spells specially.
HOSTILE = st.sampled_from(
    [
        "\x00", "\x01", "\x07", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9f",  # controls
        "\u200b", "\u200d", "\u2060", "\ufeff",  # zero-width
        "\u202a", "\u202e", "\u2066", "\u2069",  # bidi
        "\u2028", "\u2029", "\ud800", "\udc80", "\udfff",  # separators, UTF-16 halves
        "\ufffd", "\uffff", "\U0010ffff", "é", "🙂", "\\", '"', "<b>", " ",
    ]
)  # fmt: skip
CHARS = st.characters(codec=None, categories=None)  # any code point, halves of pairs too
TEXT = st.one_of(
    st.text(max_size=12),
    st.lists(st.one_of(HOSTILE, CHARS), max_size=12).map("".join),
    st.integers(0, 60_000).map(lambda n: "x" * n),  # from nothing to near the limit
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), TEXT)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Nested around the gateway's limit (32 levels), or beyond what the encoder writes (254;
# within what the standard library's json, which builds the frames, does without reaching
# Python's recursion limit: `frames` also sends one deeper than the gateway's parser reads).
DEEP = st.one_of(st.integers(1, 40), st.integers(250, 400)).map(
    lambda depth: json.loads("[" * depth + "]" * depth)
)
CELLS = st.one_of(st.integers(-2, SIDE + 1), st.integers(-(10**7), 10**7), st.integers())
SIZES = st.one_of(st.integers(-1, 501), st.integers())
VIEWPORT_FIELDS = {
    "x": st.integers(-2, SIDE),
    "y": st.integers(-2, SIDE),
    "width": st.integers(1, 20),
    "height": st.integers(1, 20),
}
VIEWPORT = st.fixed_dictionaries(VIEWPORT_FIELDS)
SCOPES = ["nearby", "area", "space", "direct", "room"]

# Values each field of each message type takes when the client means well.
VALID: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "join": {
        "spaceId": st.just(SPACE),
        "token": st.just(TOKEN),
        "capabilities": st.lists(st.sampled_from([*CAPABILITIES, "batch", "x"]), max_size=4),
        "viewport": VIEWPORT,
        "resume": st.fixed_dictionaries({"x": CELLS, "y": CELLS}),
    },
    "move": {"x": st.integers(-1, SIDE), "y": st.integers(-1, SIDE)},
    "leave": {},
    "video-call-signaling": {
        "to": st.sampled_from([OTHER, SELF]),
        "data": st.one_of(
            st.fixed_dictionaries({"type": st.just("offer"), "sdp": TEXT}), JSON, DEEP
        ),
    },
    "status": {"status": st.sampled_from(STATUSES), "text": st.text(max_size=20)},
    "viewport": VIEWPORT_FIELDS,
    "chat": {
        "scope": st.sampled_from(SCOPES),
        "text": st.text(min_size=1, max_size=20),
        "clientId": st.uuids().map(str),
        "to": st.sampled_from([OTHER, SELF]),
        "roomId": st.just(ROOM),
    },
}


@st.composite
def spoiled(draw: st.DrawFn, value: Any) -> Any:
    """`value` with a hostile character put in it, or a value of another kind."""
    choice = draw(st.integers(0, 5))
    if isinstance(value, str) and choice < 3:
        at = draw(st.integers(0, len(value)))
        return value[:at] + draw(HOSTILE) + value[at:]
    if choice == 3:
        return draw(DEEP)
    return draw(st.one_of(TEXT, JSON, CELLS, SIZES))


@st.composite
def payloads(draw: st.DrawFn, type_: str) -> Any:
    """A payload for `type_`: its fields as a client means them, with one or two of them
    (or none) left out or spoiled, and maybe unknown fields; or any JSON at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON)  # not even an object, most likely
    fields = VALID[type_]
    payload = {name: draw(values) for name, values in fields.items()}
    for name in (
        draw(st.lists(st.sampled_from(sorted(fields)), max_size=2, unique=True)) if fields else ()
    ):
        if draw(st.booleans()):
            payload[name] = draw(spoiled(payload[name]))
        else:
            payload.pop(name, None)
    payload.update(draw(st.dictionaries(st.text(max_size=8), JSON, max_size=2)))
    return payload


@dataclass(frozen=True)
class Raw:
    """A frame sent as it is, not as JSON."""

    data: str | bytes


@dataclass(frozen=True)
class Step:
    """A move one cell from where the client stands, in compact JSON (the gateway reads
    those without its JSON parser)."""

    dx: int
    dy: int


@st.composite
def frames(draw: st.DrawFn) -> Raw | Step | Any:
    """A frame: `Raw`, a `Step`, or a value to send as JSON."""
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return Raw(draw(st.text(max_size=40)))  # any text
    if kind == 1:
        return Raw(draw(st.binary(max_size=40)))  # a binary frame
    if kind == 2:
        return Raw(draw(st.sampled_from(["", " ", "{}", "null", '"move"', "{" * 2000])))
    if kind == 3:
        return draw(JSON)  # any JSON
    if kind == 4:
        x, y = draw(CELLS), draw(CELLS)
        return Raw(f'{{"type":"move","payload":{{"x":{x},"y":{y}}}}}')
    if kind in (5, 6):
        return Step(*draw(st.sampled_from([(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (0, 0)])))
    if kind == 7:  # no type, or one that is not a string
        frame = {"payload": draw(payloads("chat"))}
        if draw(st.booleans()):
            frame["type"] = draw(JSON)
        return frame
    type_ = draw(st.sampled_from(list(VALID)))
    return {"type": type_, "payload": draw(payloads(type_))} if kind != 8 else {"type": type_}


@dataclass
class Arena:
    world: World
    host: SpaceHost
    fuzzer: Client
    watcher: Client
    names: dict[str, str]

    def __repr__(self) -> str:  # Hypothesis reports it with a failing example
        return f"Arena({self.names})"

    def resolve(self, value: Any) -> Any:
        """`value` with the placeholders in its strings replaced."""
        if isinstance(value, Raw):
            return value
        if isinstance(value, Step):
            x, y = self.host.space.position(UserId(self.names[SELF]))
            return Raw(f'{{"type":"move","payload":{{"x":{x + value.dx},"y":{y + value.dy}}}}}')
        if isinstance(value, str):
            for name, real in self.names.items():
                value = value.replace(name, real)
            return value
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if isinstance(value, dict):
            return {self.resolve(key): self.resolve(item) for key, item in value.items()}
        return value

    def state(self) -> Any:
        log = self.world.gateway.event_log
        assert isinstance(log, MemoryEventLog)
        return self.host.space.snapshot(), len(log.records(CHAT_TOPIC))


_sentinels = itertools.count()


async def sync(client: Client) -> list[dict[str, Any]]:
    """Every frame the client receives up to the reply to a sentinel of its own: a direct
    message without a recipient, answered in turn with its other chat replies (or, when
    it is not in a space, with `not_joined`)."""
    client_id = f"sync-{next(_sentinels)}-{uuid.uuid4().hex}"
    await client.send("chat", {"scope": "direct", "text": "sync", "clientId": client_id})
    frames: list[dict[str, Any]] = []
    while True:
        frame = await client.recv()
        payload = frame["payload"]
        if frame["type"] == "chat-error" and payload.get("clientId") == client_id:
            return frames
        if frame["type"] == "error" and payload["code"] == "not_joined":
            return frames
        frames.append(frame)


def strings_refused(frame: Any) -> bool:
    """Whether the rule refuses a string in one of the frame's message fields."""
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        return False
    if frame["type"] not in CLIENT_MESSAGES:
        return False
    type_, payload = frame["type"], frame.get("payload", {})
    if not isinstance(payload, dict):
        return False
    for name in VALID[type_]:
        if type_ == "video-call-signaling" and name == "data":
            continue  # relayed as it came
        multiline = type_ == "chat" and name == "text"
        values = payload.get(name)
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and has_forbidden_chars(value, multiline=multiline):
                return True
    return False


@pytest.fixture
async def arena(world_factory: WorldFactory, database_url: str) -> AsyncIterator[Arena]:
    world: World = await world_factory(database_url=database_url)
    space = await world.space(SIDE, SIDE, areas=SPAWN)
    (fuzzer_id, fuzzer), (watcher_id, watcher) = await crowd(world, space, 2, CAPABILITIES)
    await fuzzer.send("viewport", WHOLE)
    await watcher.send("viewport", WHOLE)
    room_id = await room(world, space, fuzzer_id, watcher_id)
    token = world.context.accounts.access_tokens.issue(fuzzer_id, "user")
    names = {SELF: fuzzer_id, OTHER: watcher_id, ROOM: room_id, SPACE: space, TOKEN: token}
    made = Arena(world, world.gateway.hosts[SpaceId(space)], fuzzer, watcher, names)
    await sync(fuzzer)
    await sync(watcher)
    yield made


async def rejoin(arena: Arena) -> None:
    fuzzer, names = arena.fuzzer, arena.names
    payload = {"spaceId": names[SPACE], "token": names[TOKEN], "capabilities": CAPABILITIES}
    await fuzzer.send("join", payload)
    while (await fuzzer.recv())["type"] != "space-joined":
        pass
    await fuzzer.send("viewport", WHOLE)
    await sync(fuzzer)
    await sync(arena.watcher)


@FUZZ
@given(frame=frames())
async def test_hostile_frames_change_nothing_they_are_refused_for(
    arena: Arena, caplog: pytest.LogCaptureFixture, frame: Any
) -> None:
    world, fuzzer, watcher = arena.world, arena.fuzzer, arena.watcher
    world.clock.advance(1)  # the rate limits refill
    if UserId(arena.names[SELF]) not in arena.host.connections:
        await rejoin(arena)
    frame = arena.resolve(frame)
    data: str | bytes
    if isinstance(frame, Raw):
        data = frame.data
    else:
        try:
            data = json.dumps(frame, ensure_ascii=False)
            data.encode()
        except UnicodeEncodeError:  # halves of UTF-16 pairs: only JSON's escapes spell them
            data = json.dumps(frame)
    assume(len(data.encode() if isinstance(data, str) else data) < MAX_FRAME_BYTES)
    before = arena.state()
    caplog.clear()

    await fuzzer.ws.send(data)
    replies = await sync(fuzzer)
    seen = await sync(watcher)

    assert fuzzer.ws.close_code is None and watcher.ws.close_code is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    for reply in replies:
        if reply["type"] == "error":
            assert reply["payload"]["code"] in ERROR_CODES, reply
        if reply["type"] == "chat-error":
            assert reply["payload"]["code"] in CHAT_ERROR_CODES, reply
    refused = any(reply["type"] in REFUSALS for reply in replies)
    if strings_refused(frame):
        assert refused, (data, replies)
    if refused:
        assert arena.state() == before, (data, replies)
        assert seen == [], (data, replies, seen)


@FUZZ
@given(
    space_id=st.one_of(st.just(SPACE), spoiled(SPACE), TEXT),
    token=st.one_of(st.just(TOKEN), spoiled(TOKEN), TEXT),
    extra=st.fixed_dictionaries(
        {},
        optional={
            name: st.one_of(values, JSON)
            for name, values in VALID["join"].items()
            if name not in ("spaceId", "token")
        },
    ),
)
async def test_hostile_joins_are_refused_or_closed_as_documented(
    arena: Arena, caplog: pytest.LogCaptureFixture, space_id: Any, token: Any, extra: Any
) -> None:
    """A new connection's `join`: it enters, or gets an error and stays open, or gets an
    error and the close code of its kind; never 1011, and the space is untouched."""
    world = arena.world
    data = json.dumps(
        {"type": "join", "payload": arena.resolve({"spaceId": space_id, "token": token, **extra})}
    )
    assume(len(data) < MAX_FRAME_BYTES)
    world.clock.advance(1)
    before = arena.state()
    caplog.clear()
    client = await world.connect()
    await client.ws.send(data)
    reply = await client.recv()
    if reply["type"] == "batch":  # with `batch`, space-joined may come first in one
        reply = reply["payload"]["messages"][0]
    if reply["type"] == "space-joined":  # the fuzzer's own token, the space's id
        await client.ws.close()
        await arena.watcher.drain()
        return
    assert reply["type"] == "error", reply
    code = reply["payload"]["code"]
    closes = {"invalid_token": 4001, "forbidden": 4003, "unknown_space": 4004}
    if code in closes:
        assert (await client.closed())[0] == closes[code]
    else:
        assert code in ("invalid_json", "invalid_message", "invalid_characters"), reply
        assert await sync(client) == []  # still open, still not joined
        await client.ws.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert arena.state() == before
    assert await sync(arena.watcher) == []
