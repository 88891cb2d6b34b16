"""The consumer as a process: poison records go to the dead-letter topic while the rest
flows, and records of a space no database has are dropped; killed with SIGKILL
mid-stream it loses and duplicates nothing; a forced replay of what it already stored
inserts nothing twice; SIGTERM lets it leave its group, and a failed loop stops the
process instead of leaving it up, looking ready."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from metaverse.chat.messages import CHAT_DLQ_TOPIC, CHAT_TOPIC
from tests.integration.pipeline.conftest import (
    ChatClient,
    World,
    commit_offsets,
    committed_offsets,
    database_admin,
    database_url,
    end_offsets,
    eventually,
    group_members,
    produce,
    read_records,
    seeded_group,
    unique,
)
from tests.loopback import http_json

# One worker for the module, so that its processes start once. (pytest-xdist 3.8 ignores
# xdist_group under pytest 9.2, pytest-dev/pytest-xdist#1386: until that is fixed, the
# module may run on both workers, each with a platform of its own.)
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("pipeline-consumer")]

FLOOD = 300  # messages, half from each gateway
FLOOD_INTERVAL_S = 0.01  # between two messages of one sender: about 3 s of traffic
# After SIGKILL the dead member keeps its partitions until its session times out (6 s
# here, METAVERSE_CONSUMER_SESSION_TIMEOUT_MS); only then does the new member get them.
AFTER_KILL_TIMEOUT_S = 45.0


def orphan_record(marker: str) -> bytes:
    """A well-formed chat record of a space that exists in no database; `marker` is its
    id and text."""
    record = {
        "id": marker[:26],
        "space_id": "0" * 26,
        "scope": "space",
        "conversation": "space:" + "0" * 26,
        "sender_id": "0" * 26,
        "sender_name": "nobody",
        "text": marker,
        "ts_ms": int(time.time() * 1000),
    }
    return json.dumps(record).encode()


async def test_poison_records_are_dead_lettered_while_the_rest_flows(world: World) -> None:
    """A malformed record goes to the dead-letter topic with the reason; a well-formed one
    of a space no database has (what a space deleted meanwhile looks like) is dropped and
    counted, never dead-lettered; the records after both are stored."""
    platform = world.platform
    alice = await world.user()
    space_id = await world.space(alice)
    alice_client = await world.join(platform.gateway1, alice, space_id)
    dlq_start = await asyncio.to_thread(end_offsets, platform.broker, CHAT_DLQ_TOPIC)

    # Same key as the space's own messages: the same partition, ahead of them.
    key = f"space:{space_id}".encode()
    garbled = unique("garbled-")
    await asyncio.to_thread(
        produce, platform.broker, CHAT_TOPIC, key, f'{{"id": "{garbled}", "text'.encode()
    )
    orphan = unique("orphan-")  # well formed, but of a space no database has
    await asyncio.to_thread(produce, platform.broker, CHAT_TOPIC, key, orphan_record(orphan))

    sent = {await alice_client.say("space", f"valid {n}") for n in range(20)}
    assert set(await world.wait_stored(space_id, sent)) == sent

    # A batch's offsets are committed once its dead letters are durable: with the group
    # past the messages sent, every dead letter of the records before them is written.
    end = await asyncio.to_thread(end_offsets, platform.broker, CHAT_TOPIC)

    async def caught_up() -> bool:
        committed = await asyncio.to_thread(
            committed_offsets, platform.broker, platform.group, CHAT_TOPIC
        )
        return all(committed.get(partition, -1) >= offset for partition, offset in end.items())

    await eventually(caught_up, "the consumer committing past the messages sent", 30)
    dlq_end = await asyncio.to_thread(end_offsets, platform.broker, CHAT_DLQ_TOPIC)
    written = sum(dlq_end[partition] - offset for partition, offset in dlq_start.items())
    envelopes = await asyncio.to_thread(
        read_records,
        platform.broker,
        CHAT_DLQ_TOPIC,
        dlq_start,
        lambda values: len(values) >= written,
    )
    values = " ".join(envelope["value"] for envelope in envelopes)
    assert orphan not in values
    # Other tests' consumer groups, reading the same topics, may dead-letter it too.
    reasons = [e["reason"] for e in envelopes if garbled in e["value"]]
    assert reasons and all(reason.startswith("unparseable:") for reason in reasons), reasons
    dead = await asyncio.to_thread(
        platform.consumer_metric, "metaverse_consumer_dead_letters_total", topic=CHAT_TOPIC
    )
    assert dead >= 1
    dropped = await asyncio.to_thread(
        platform.consumer_metric,
        "metaverse_consumer_dropped_total",
        topic=CHAT_TOPIC,
        reason="space_deleted",
    )
    assert dropped >= 1


async def flood(
    client: ChatClient,
    count: int,
    killed: asyncio.Event,
    acked: set[str],
    refused: list[object],
) -> None:
    """Send `count` messages at a steady pace without waiting for replies (pausing after
    the first third until the consumer is killed, however slow it is to get going), then
    collect every reply."""
    client_ids = []
    for n in range(count):
        if n == count // 3:
            async with asyncio.timeout(30):
                await killed.wait()
        client_ids.append(await client.chat("space", f"{client.name} #{n}"))
        await asyncio.sleep(FLOOD_INTERVAL_S)
    for client_id in client_ids:
        reply = await client.reply(client_id, timeout_s=15)
        if reply["type"] == "chat-ack":
            acked.add(reply["payload"]["id"])
        else:
            refused.append(reply)


async def test_a_consumer_killed_mid_stream_loses_and_duplicates_nothing(world: World) -> None:
    platform = world.platform
    alice, bob = await world.user(), await world.user()
    space_id = await world.space(alice, bob)
    senders = [
        await world.join(platform.gateway1, alice, space_id),
        await world.join(platform.gateway2, bob, space_id),
    ]
    killed = asyncio.Event()
    acked: set[str] = set()
    refused: list[object] = []
    flows = [
        asyncio.create_task(flood(c, FLOOD // len(senders), killed, acked, refused))
        for c in senders
    ]

    # Kill it once it has stored a part, while more is on its way.
    async def a_part_stored() -> bool:
        return len((await world.stored(space_id))[0]) >= FLOOD // 10

    await eventually(a_part_stored, f"storing {FLOOD // 10} messages", 20, interval_s=0.02)
    await asyncio.to_thread(platform.consumer.kill)
    killed.set()
    stored_at_kill = len((await world.stored(space_id))[0])
    replied_at_kill = sum(len(c.replies) for c in senders)
    killed_s = time.monotonic()
    await asyncio.to_thread(platform.start_consumer)

    await asyncio.gather(*flows)
    assert refused == []
    assert len(acked) == FLOOD

    stored = await world.wait_stored(space_id, acked, timeout_s=AFTER_KILL_TIMEOUT_S)
    ids, distinct = await world.stored(space_id)
    assert set(stored) == set(ids) == acked
    assert len(ids) == distinct == FLOOD
    print(  # shown with -s: how the kill fell, and how long recovery took
        f"killed at {stored_at_kill} stored / {replied_at_kill} acked;"
        f" all {FLOOD} stored {time.monotonic() - killed_s:.1f} s after the kill"
    )


async def test_a_replayed_stream_inserts_nothing_twice(world: World) -> None:
    """Offsets rewound past stored records (what a crash between the database commit and
    the offset commit amounts to): the consumer reads them all again, stores none twice."""
    platform = world.platform
    alice = await world.user()
    space_id = await world.space(alice)
    alice_client = await world.join(platform.gateway1, alice, space_id)
    start = await asyncio.to_thread(end_offsets, platform.broker, CHAT_TOPIC)
    sent = {await alice_client.say("space", f"once {n}") for n in range(50)}
    await world.wait_stored(space_id, sent)
    end = await asyncio.to_thread(end_offsets, platform.broker, CHAT_TOPIC)

    # A graceful stop leaves the group at once, so the offsets can be rewound. SIGINT, not
    # SIGTERM: see test_sigterm_lets_the_consumer_leave_its_group.
    assert await asyncio.to_thread(platform.consumer.interrupt) == 0, platform.consumer.tail()
    await asyncio.to_thread(commit_offsets, platform.broker, platform.group, {CHAT_TOPIC: start})
    await asyncio.to_thread(platform.start_consumer)

    # Offsets are committed after the database commit: once they are back at the end,
    # every rewound record has been written again.
    async def caught_up() -> bool:
        committed = await asyncio.to_thread(
            committed_offsets, platform.broker, platform.group, CHAT_TOPIC
        )
        return all(committed.get(partition, -1) >= offset for partition, offset in end.items())

    await eventually(caught_up, "the consumer committing past the rewound records", 30)
    read_again = await asyncio.to_thread(
        platform.consumer_metric, "metaverse_consumer_records_total", topic=CHAT_TOPIC
    )
    assert read_again >= len(sent)
    ids, distinct = await world.stored(space_id)
    assert set(ids) == sent and len(ids) == distinct == len(sent)


async def test_sigterm_lets_the_consumer_leave_its_group(world: World) -> None:
    """What orchestrators send on every deploy: the group must not wait for a dead member
    (its session timeout) before the next consumer gets the partitions."""
    platform = world.platform
    group = await asyncio.to_thread(seeded_group, platform.broker)
    consumer = await asyncio.to_thread(platform.start_consumer, "consumer-term", group=group)

    async def joined() -> bool:
        return await asyncio.to_thread(group_members, platform.broker, group) == 1

    await eventually(joined, f"the consumer joining {group}", 20)
    await asyncio.to_thread(consumer.stop)
    members = await asyncio.to_thread(group_members, platform.broker, group)
    assert members == 0, f"exit {consumer.process.returncode}, still {members} member in {group}"


async def test_a_consumer_whose_loop_fails_does_not_stay_up_looking_ready(world: World) -> None:
    """A database the consumer can reach but not write to (no tables) stands for any
    non-constraint failure: a database restart, a dropped connection, a failed commit."""
    platform = world.platform
    name = unique("metaverse_pipeline_bare_")
    await asyncio.to_thread(database_admin, f'CREATE DATABASE "{name}"')
    try:
        group = await asyncio.to_thread(seeded_group, platform.broker)
        consumer = await asyncio.to_thread(
            platform.start_consumer, "consumer-bare", group=group, database_url=database_url(name)
        )
        try:
            await asyncio.to_thread(
                produce, platform.broker, CHAT_TOPIC, b"crash", orphan_record(unique("crash-"))
            )

            async def gone_or_unready() -> bool:
                if consumer.process.poll() is not None:
                    return True
                try:
                    status, _ = await asyncio.to_thread(http_json, "GET", consumer.url + "/readyz")
                except OSError:  # shutting down
                    return True
                return status != 200

            await eventually(gone_or_unready, "a consumer that cannot write exiting or unready", 10)
        finally:
            await asyncio.to_thread(consumer.stop)
    finally:
        await asyncio.to_thread(database_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
