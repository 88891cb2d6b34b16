"""The consumer over the in-memory event log and a real database (SQLite and PostgreSQL):
its context, consumers of one group on it, and helpers to feed and watch them."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import delete, func, select

from metaverse.accounts.tokens import Principal, UserId
from metaverse.api.context import ApiContext
from metaverse.backends.eventlog import EventLog, Record
from metaverse.chat.messages import CHAT_TOPIC, ChatMessage
from metaverse.clock import FakeClock
from metaverse.consumer.service import Consumer
from metaverse.consumer.writers import BatchWriter, writer_for
from metaverse.db.ids import new_id
from metaverse.db.models import ChatMessage as ChatRow
from metaverse.db.models import Space
from metaverse.settings import Settings
from metaverse.spaces.service import create_space
from metaverse.world.geometry import Dimensions
from tests.messages import chat

GROUP = "g"


@pytest.fixture
async def context(
    database_url: str, make_settings: Callable[..., Settings]
) -> AsyncIterator[ApiContext]:
    built = ApiContext.build(make_settings(database_url=database_url), FakeClock())
    yield built
    await built.close()


async def make_space(context: ApiContext, owner: str = "owner") -> str:
    async with context.sessions() as session:
        user_id = await context.accounts.signup(session, owner, "password1", "user")
        principal = Principal(UserId(user_id), "user", "t")
        return await create_space(
            session,
            principal,
            name="s",
            dimensions=Dimensions(10, 10),
            map_id=None,
            visibility="public",
        )


async def delete_space(context: ApiContext, space_id: str) -> None:
    """As `DELETE /api/v1/space/{id}` does it: its rows cascade."""
    async with context.sessions() as session:
        await session.execute(delete(Space).where(Space.id == space_id))
        await session.commit()


def event(space_id: str) -> bytes:
    """A domain event record of `space_id`."""
    return json.dumps({"id": new_id(), "kind": "joined", "spaceId": space_id, "ts": 5}).encode()


def record(topic: str, value: bytes, offset: int, key: bytes = b"k") -> Record:
    return Record(topic=topic, key=key, value=value, offset=offset)


MakeConsumer = Callable[..., Consumer]


@pytest.fixture
async def consumer(context: ApiContext) -> AsyncIterator[MakeConsumer]:
    """Consumers of group `GROUP` on `context`'s database (through `writer`, by default
    the one the service uses), closed at the end of the test."""
    made: list[Consumer] = []

    def make(
        log: EventLog,
        *,
        writer: BatchWriter | None = None,
        batch_wait_s: float = 0.05,
        registry: CollectorRegistry | None = None,
    ) -> Consumer:
        worker = Consumer(
            log,
            writer or writer_for(context.engine),
            registry or CollectorRegistry(),
            group=GROUP,
            batch_size=100,
            batch_wait_s=batch_wait_s,
            clock=FakeClock(),
        )
        made.append(worker)
        return worker

    yield make
    for worker in made:
        await worker.close()


async def append_chat(log: EventLog, space_id: str, text: str) -> ChatMessage:
    message = chat(space_id, text)
    await log.append(CHAT_TOPIC, message.conversation.encode(), message.to_bytes())
    return message


@contextlib.asynccontextmanager
async def running(worker: Consumer) -> AsyncIterator[asyncio.Task[None]]:
    """`worker.run()` as a task for the duration of the block."""
    task = asyncio.create_task(worker.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until_stored(context: ApiContext, count: int) -> None:
    """Wait (up to 4 s) until at least `count` chat messages are in the database."""
    for _ in range(200):
        if await count_rows(context, ChatRow) >= count:
            return
        await asyncio.sleep(0.02)


async def until_processed(worker: Consumer, batches: int = 1) -> None:
    """Wait (up to 4 s) until `worker` has processed `batches` batches: stored, dead
    letters written, and (on the in-memory log, whose commit never waits) committed."""
    for _ in range(200):
        if worker.batches >= batches:
            return
        await asyncio.sleep(0.02)


async def count_rows(context: ApiContext, model: Any) -> int:
    async with context.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def stored_ids(context: ApiContext) -> list[str]:
    """The ids of every stored chat message."""
    async with context.sessions() as session:
        return list(await session.scalars(select(ChatRow.id)))
