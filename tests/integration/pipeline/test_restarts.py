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
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from metaverse.db.models import ChatMessage
from tests.integration.pipeline.conftest import (
    FRAME_TIMEOUT_S,
    ChatClient,
    Platform,
    World,
    running_platform,
    service_script,
    unique,
)

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
