"""The pipeline while Kafka or Redis is down: a message that can't be made durable is
refused (retryably) and shown to nobody; live delivery between gateways resumes by
itself after Redis restarts.

These stop the shared services: they are in the `service-restarts` group, and the module
holds the services lock exclusively for its whole life (its processes included), so no
other test uses the services meanwhile. Each leaves the service running, whatever happens.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from metaverse.db.models import ChatMessage
from tests.integration.pipeline.conftest import (
    FRAME_TIMEOUT_S,
    ChatClient,
    Frame,
    Platform,
    World,
    running_platform,
    service_script,
    unique,
)
from tests.loopback import http_json

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("service-restarts")]

# KafkaEventLog gives up on an append after 5 s (+1 s grace); the client hears by then.
UNAVAILABLE_WITHIN_S = 10.0
RECOVERY_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("platform"), exclusive=True) as started:
        yield started


async def pair(world: World) -> tuple[ChatClient, ChatClient, str]:
    """Alice on gateway 1 and Bob on gateway 2, in one new space."""
    alice, bob = await world.user(), await world.user()
    space_id = await world.space(alice, bob)
    bob_client = await world.join(world.platform.gateway2, bob, space_id)
    alice_client = await world.join(world.platform.gateway1, alice, space_id)
    return alice_client, bob_client, space_id


async def say_until_acked(client: ChatClient, text: str) -> str:
    """Send `text` (numbered) until one is acked; retryable refusals are expected while a
    service comes back. The acked message's id."""
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    for attempt in range(100):
        reply = await client.reply(
            await client.chat("space", f"{text} {attempt}"), UNAVAILABLE_WITHIN_S
        )
        if reply["type"] == "chat-ack":
            message_id: str = reply["payload"]["id"]
            return message_id
        assert reply["payload"]["retryable"] is True, reply
        assert time.monotonic() < deadline, f"still refused after {RECOVERY_TIMEOUT_S} s: {reply}"
        await asyncio.sleep(0.5)
    raise AssertionError("no ack in 100 attempts")


async def test_kafka_down_refuses_chat_retryably_and_recovers(world: World) -> None:
    alice, bob, space_id = await pair(world)
    down_text = unique("while kafka is down ")
    await asyncio.to_thread(service_script, "kafka", "stop")
    try:
        started_s = time.monotonic()
        refused = await alice.reply(await alice.chat("space", down_text), UNAVAILABLE_WITHIN_S)
        elapsed_s = time.monotonic() - started_s
        assert refused["type"] == "chat-error", refused
        assert refused["payload"]["code"] == "unavailable", refused
        assert refused["payload"]["retryable"] is True, refused
        assert elapsed_s < UNAVAILABLE_WITHIN_S
        await asyncio.sleep(0.5)  # a delivery racing the refusal would be here by now
        assert bob.chats() == [], "a message that was not stored was shown"
    finally:
        await asyncio.to_thread(service_script, "kafka", "start")

    restarted_s = time.monotonic()
    after = await say_until_acked(alice, "kafka is back")
    print(  # shown with -s
        f"refused in {elapsed_s:.1f} s; acked {time.monotonic() - restarted_s:.1f} s after"
        " the broker was back"
    )
    received = await bob.receives(after, RECOVERY_TIMEOUT_S)
    assert received["text"].startswith("kafka is back")
    assert down_text not in [chat["text"] for chat in bob.chats()]
    await world.wait_stored(space_id, {after}, timeout_s=RECOVERY_TIMEOUT_S)
    async with world.context.sessions() as session:
        texts = list(
            await session.scalars(select(ChatMessage.text).where(ChatMessage.space_id == space_id))
        )
    assert down_text not in texts


async def test_redis_restart_live_delivery_resumes_between_gateways(world: World) -> None:
    alice, bob, space_id = await pair(world)
    before = await alice.say("space", "before the restart")
    await bob.receives(before)

    await asyncio.to_thread(service_script, "redis", "stop")
    try:
        # Stored first, shown live second: with Redis down the message is still acked
        # and kept, it only misses live delivery.
        unseen = await alice.say("space", "while redis is down")
        await world.wait_stored(space_id, {unseen})
    finally:
        await asyncio.to_thread(service_script, "redis", "start")

    # Each gateway's subscriber reconnects and subscribes again by itself, within its
    # backoff (at most 1 s between attempts): send until one gets through.
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    while True:
        after = await alice.say("space", "after the restart")
        try:
            await bob.receives(after, timeout_s=1.0)
            break
        except AssertionError:
            assert time.monotonic() < deadline, (
                f"no live delivery {RECOVERY_TIMEOUT_S} s after Redis restarted;"
                f" gateway2:\n{world.platform.gateway2.tail()}"
            )
    back = await bob.say("space", "and back the other way")
    await alice.receives(back, FRAME_TIMEOUT_S)


class GapFiller:
    """What a client that follows docs/protocol.md does on `chat-gap {since}`: it reads the
    conversation's history back to `since`, at once and again a moment later (the consumer
    stores a message shortly after it is acked), and merges it with what came live, by id."""

    REFETCH_AFTER_S = 2.0

    def __init__(self, world: World, client: ChatClient, space_id: str, token: str) -> None:
        self.world, self.client, self.space_id, self.token = world, client, space_id, token
        self.fetched: dict[str, Frame] = {}
        self.gaps = 0
        self._handled = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def poll(self) -> None:
        """Act on the `chat-gap` frames received since the last call."""
        gaps = [f["payload"] for f in self.client.frames if f["type"] == "chat-gap"]
        for gap in gaps[self._handled :]:
            self.gaps += 1
            task = asyncio.create_task(self._fill(int(gap["since"])))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._handled = len(gaps)

    async def _fill(self, since_ms: int) -> None:
        await self._fetch(since_ms)
        await asyncio.sleep(self.REFETCH_AFTER_S)
        await self._fetch(since_ms)

    async def _fetch(self, since_ms: int) -> None:
        path = f"/api/v1/space/{self.space_id}/messages?limit=100"
        before = ""
        while True:
            url = self.world.platform.api.url + path + (f"&before={before}" if before else "")
            status, page = await asyncio.to_thread(http_json, "GET", url, None, self.token)
            assert status == 200, page
            for message in page["messages"]:
                self.fetched[message["id"]] = message
            messages = page["messages"]
            if not messages or page["nextCursor"] is None or messages[-1]["ts"] < since_ms:
                return
            before = page["nextCursor"]

    def view(self) -> list[str]:
        """The ids the client shows: live and fetched, each once, in id (time) order."""
        return sorted({c["id"] for c in self.client.chats()} | set(self.fetched))

    async def settle(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks)


async def test_a_receiver_misses_no_acked_message_across_a_redis_outage(world: World) -> None:
    """Live delivery loses what is published while Redis is down; the receiving gateway
    says so with `chat-gap` when its subscriber is back, and history fills the gap."""
    alice, bob_account = await world.user(), await world.user()
    space_id = await world.space(alice, bob_account)
    bob = await world.join(world.platform.gateway2, bob_account, space_id, ("chat", "live"))
    sender = await world.join(world.platform.gateway1, alice, space_id)
    filler = GapFiller(world, bob, space_id, bob_account.token)
    acked: list[str] = []
    sending = True

    async def send_all_along() -> None:
        n = 0
        while sending:
            n += 1
            acked.append(await sender.say("space", f"message {n}"))
            filler.poll()
            await asyncio.sleep(0.02)

    task = asyncio.create_task(send_all_along())
    try:
        await asyncio.sleep(1.0)
        await asyncio.to_thread(service_script, "redis", "stop")
        try:
            await asyncio.sleep(5.0)
        finally:
            await asyncio.to_thread(service_script, "redis", "start")
        # Until the gateway's subscriber is back and has told bob (within its backoff).
        await bob.wait_for(lambda f: f["type"] == "chat-gap", "chat-gap", RECOVERY_TIMEOUT_S)
        await asyncio.sleep(2.0)
    finally:
        sending = False
        await task
    filler.poll()
    await filler.settle()
    assert filler.gaps >= 1
    live = [c["id"] for c in bob.chats()]
    assert len(live) == len(set(live)), "a message was delivered live twice"
    missing = set(acked) - set(filler.view())
    assert not missing, f"{len(missing)} of {len(acked)} acked messages never reached bob"
    assert len(set(acked) - set(live)) > 0, "Redis was down, yet nothing missed live delivery"


def since(client: ChatClient, start: int, type_: str, **payload: Any) -> Callable[[Frame], bool]:
    """Matches a frame of `type_` (with `payload`'s items) received after the first `start`."""

    def match(frame: Frame) -> bool:
        return (
            frame["type"] == type_
            and all(frame["payload"].get(k) == v for k, v in payload.items())
            and any(seen is frame for seen in client.frames[start:])
        )

    return match


async def test_a_space_across_gateways_converges_after_redis_restarts(world: World) -> None:
    """Redis restarted (losing its data) under a space with users on two gateways: the
    bridged user is told the space is reconnecting, then gets the whole picture afresh;
    moves and chat cross the gateways again."""
    caps = ("chat", "live", "presence", "proximity")
    ann_account, bob_account = await world.user(), await world.user()
    space_id = await world.space(ann_account, bob_account)
    ann = await world.join(world.platform.gateway1, ann_account, space_id, caps)
    bob = await world.join(world.platform.gateway2, bob_account, space_id, caps)
    await ann.wait_for(since(ann, 0, "user-joined"), "user-joined")
    seen = len(bob.frames)
    await asyncio.to_thread(service_script, "redis", "stop")
    try:
        await bob.wait_for(
            since(bob, seen, "space-connection", state="reconnecting"),
            "space-connection reconnecting",
            RECOVERY_TIMEOUT_S,
        )
    finally:
        await asyncio.to_thread(service_script, "redis", "start")
    back = await bob.wait_for(
        since(bob, seen, "space-connection", state="connected"),
        "space-connection connected",
        RECOVERY_TIMEOUT_S,
    )
    after = next(i for i, f in enumerate(bob.frames) if f is back)
    rejoined = await bob.wait_for(
        since(bob, after, "space-joined"), "space-joined afresh", RECOVERY_TIMEOUT_S
    )
    # Ann is in the picture: listed afresh, or arriving just after (when her gateway had to
    # hand the space to bob's).
    if ann_account.user_id not in [u["userId"] for u in rejoined["payload"]["users"]]:
        await bob.wait_for(
            since(bob, after, "user-joined", userId=ann_account.user_id),
            "ann back in the picture",
            RECOVERY_TIMEOUT_S,
        )
    spawn = rejoined["payload"]["spawn"]
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    x = spawn["x"]
    while True:  # the host may be settling its new lease: step until ann sees one
        x = spawn["x"] + 1 if x == spawn["x"] else spawn["x"]
        mark = len(ann.frames)
        await bob.send("move", {"x": x, "y": spawn["y"]})
        try:
            await ann.wait_for(since(ann, mark, "movement"), "bob's move", 1.0)
            break
        except AssertionError:
            assert time.monotonic() < deadline, "bob's moves never reached ann again"
    said = await ann.say("space", "redis is back")
    await bob.receives(said, RECOVERY_TIMEOUT_S)
