"""What the in-memory event log adds to the shared contract (tests/integration/backends):
retention, one owner per group, and choosing the implementation from the settings."""

from __future__ import annotations

import time

import pytest

from metaverse.backends.eventlog import (
    EventLogUnavailable,
    MemoryEventLog,
    Record,
    open_event_log,
)
from metaverse.backends.eventlog_kafka import KafkaEventLog

# Nothing listens on port 1: every connection is refused at once.
UNREACHABLE = "127.0.0.1:1"


async def fill(log: MemoryEventLog, topic: str, count: int) -> None:
    for n in range(count):
        await log.append(topic, b"k", str(n).encode())


async def test_retention_keeps_the_newest_records_and_readers_skip_ahead() -> None:
    log = MemoryEventLog(retain=10)
    await fill(log, "t", 35)
    kept = log.records("t")
    assert [record.offset for record in kept] == list(range(25, 35))
    assert kept[0] == Record("t", b"k", b"25", 25, 0)
    reader = log.reader("g", ["t"])
    assert [record.offset for record in await reader.poll(100, 0)] == list(range(25, 35))


async def test_records_of_an_unknown_topic_are_none() -> None:
    assert MemoryEventLog().records("nothing") == []


async def test_only_the_first_member_of_a_group_reads_until_it_leaves() -> None:
    log = MemoryEventLog()
    await fill(log, "t", 5)
    owner, standby = log.reader("g", ["t"]), log.reader("g", ["t"])
    assert await standby.poll(10, 0) == []
    records = await owner.poll(10, 0)
    assert len(records) == 5
    await owner.commit(records[:3])
    await owner.close()
    # The standby takes over from the group's commit: what the owner didn't commit
    # comes again.
    assert [record.value for record in await standby.poll(10, 0)] == [b"3", b"4"]


async def test_commits_never_move_a_group_backwards() -> None:
    log = MemoryEventLog()
    await fill(log, "t", 4)
    reader = log.reader("g", ["t"])
    records = await reader.poll(10, 0)
    await reader.commit(records)
    await reader.commit(records[:1])
    await reader.close()
    assert await log.reader("g", ["t"]).poll(10, 0) == []


async def test_a_closed_reader_reads_nothing() -> None:
    log = MemoryEventLog()
    await fill(log, "t", 2)
    reader = log.reader("g", ["t"])
    await reader.close()
    await reader.close()
    assert await reader.poll(10, 5) == []


async def test_max_records_must_be_positive() -> None:
    reader = MemoryEventLog().reader("g", ["t"])
    with pytest.raises(ValueError, match="max_records"):
        await reader.poll(0, 0)


async def test_close_empties_the_log() -> None:
    log = MemoryEventLog()
    await fill(log, "t", 2)
    await log.close()
    assert log.records("t") == []


async def test_no_broker_means_the_memory_log() -> None:
    assert isinstance(open_event_log(None), MemoryEventLog)
    assert isinstance(open_event_log(""), MemoryEventLog)


async def test_a_broker_means_kafka_with_the_security_settings_checked() -> None:
    with pytest.raises(ValueError, match="KAFKA_USERNAME"):
        open_event_log("kafka:9092", security_protocol="SASL_SSL", sasl_mechanism="PLAIN")
    log = open_event_log(UNREACHABLE, timeout_s=0.5)
    try:
        assert isinstance(log, KafkaEventLog)
        assert log.config["bootstrap.servers"] == UNREACHABLE
    finally:
        await log.close()


async def test_an_unreachable_kafka_fails_appends_and_pings_in_bounded_time() -> None:
    log = KafkaEventLog({"bootstrap.servers": UNREACHABLE}, timeout_s=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(EventLogUnavailable, match="did not store a record for t-unreachable"):
            await log.append("t-unreachable", b"k", b"v")
        with pytest.raises(EventLogUnavailable, match="unreachable"):
            await log.ping()
        assert time.monotonic() - started < 0.5 + 1.5 + 0.5 + 0.5
    finally:
        await log.close()
    with pytest.raises(EventLogUnavailable, match="closed"):
        await log.append("t", b"k", b"v")


async def test_memory_log_refuses_rather_than_drops_what_a_group_has_not_read() -> None:
    log = MemoryEventLog(retain=10)
    reader = log.reader("g", ["t"])
    for index in range(10):
        await log.append("t", b"k", str(index).encode())
    with pytest.raises(EventLogUnavailable):
        await log.append("t", b"k", b"one too many")
    batch = await reader.poll(100, 0.1)
    assert [r.value for r in batch] == [str(i).encode() for i in range(10)]
    await reader.commit(batch[:5])
    for index in range(5):  # five places freed by the commit
        await log.append("t", b"k", f"more{index}".encode())
    with pytest.raises(EventLogUnavailable):
        await log.append("t", b"k", b"full again")
    await reader.commit(await reader.poll(100, 0.1))
    await log.append("t", b"k", b"room now")


async def test_memory_log_without_readers_keeps_the_newest() -> None:
    log = MemoryEventLog(retain=10)
    for index in range(25):
        await log.append("unread", b"k", str(index).encode())
    assert [r.value for r in log.records("unread")] == [str(i).encode() for i in range(15, 25)]
