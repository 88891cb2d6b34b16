"""The chat pipeline as deployed: `metaverse api`, two `metaverse gateway`s and a
`metaverse consumer` as real processes on the real PostgreSQL, Redis and Kafka.

Each test module gets a platform of its own: a fresh database, and a consumer group
whose offsets start at the topics' current ends, so that records left in the shared
topics by earlier runs (of spaces in other databases) are never read. Records other
tests produce meanwhile still reach this group, and are dropped (their spaces are in
other databases) or dead-lettered: nothing asserts on what it drops or dead-letters in
all, only on the records a test made itself.

A platform holds the services lock (`tests/services.py`) for its whole life, shared, or
exclusive for a module that stops and starts services: no other worker restarts a
service under its processes, even between its tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

# confluent_kafka.admin re-exports NewTopic without marking it public for mypy.
from confluent_kafka.cimpl import NewTopic
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from websockets.asyncio.client import ClientConnection, connect

from metaverse.api.context import ApiContext
from metaverse.chat.messages import CHAT_DLQ_TOPIC, CHAT_TOPIC
from metaverse.clock import SystemClock
from metaverse.db.engine import make_engine
from metaverse.db.models import ChatMessage, Space, SpaceMember
from metaverse.gateway.recorder import EVENTS_TOPIC
from metaverse.settings import Settings
from tests.conftest import TEST_JWT_SECRET, run_isolated
from tests.loopback import free_port, http_json, metric_in
from tests.services import SERVICES_LOCK, service_url

METAVERSE: Final = [sys.executable, "-m", "metaverse"]
ROOT: Final = Path(__file__).resolve().parents[3]
START_TIMEOUT_S: Final = 30.0
STOP_TIMEOUT_S: Final = 10.0
LOCK_TIMEOUT_S: Final = 300.0
HTTP_TIMEOUT_S: Final = 5.0
FRAME_TIMEOUT_S: Final = 5.0
# Topics the consumer reads, and their dead-letter topics; 3 partitions like the app's.
CONSUMED_TOPICS: Final = (CHAT_TOPIC, EVENTS_TOPIC)
ALL_TOPICS: Final = (*CONSUMED_TOPICS, CHAT_DLQ_TOPIC, f"{EVENTS_TOPIC}.dlq")
PARTITIONS: Final = 3
QUIET: Final = 4  # librdkafka's log level for the test's own clients: warnings and worse

Frame = dict[str, Any]


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


async def eventually(
    condition: Callable[[], Awaitable[bool]], what: str, timeout_s: float, interval_s: float = 0.2
) -> None:
    """Poll `condition` until it holds; fail saying `what` did not happen in time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await condition():
        assert loop.time() < deadline, f"{what}: not within {timeout_s} s"
        await asyncio.sleep(interval_s)


# Coordination with the other test workers.


@contextlib.contextmanager
def services_held(*, exclusive: bool) -> Iterator[None]:
    """The services lock of `tests/integration/backends`: shared while the services are
    used, exclusive while they are stopped and started. Waited for in the kernel (a
    blocked `flock` is woken when the lock frees up; polling would starve behind the
    other worker's back-to-back shared holds), by a thread so that the wait is bounded."""
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    with SERVICES_LOCK.open("a") as handle:
        taken = threading.Event()

        def take() -> None:
            fcntl.flock(handle.fileno(), mode)
            taken.set()

        threading.Thread(target=take, name="services-lock", daemon=True).start()
        assert taken.wait(LOCK_TIMEOUT_S), (
            f"the services lock {SERVICES_LOCK} was held by others for {LOCK_TIMEOUT_S} s"
        )
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def service_script(service: str, action: str) -> None:
    """`scripts/<service>.sh start|stop`, as an operator runs it."""
    done = subprocess.run(
        ["bash", f"scripts/{service}.sh", action],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"scripts/{service}.sh {action} failed:\n{done.stderr}"


# HTTP.


def http_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310 - loopback only
        body: bytes = response.read()
        return body.decode()


def metric(url: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` with `labels` on a Prometheus `/metrics` page."""
    return metric_in(http_text(url), name, **labels)


# Processes.


@dataclass
class Role:
    """One `metaverse <role>` process; its output goes to a file (a pipe nobody reads
    would fill up with warnings and block the process)."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no output)"

    def wait_ready(self, path: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            code = self.process.poll()
            assert code is None, f"{self.name} exited with {code} during start:\n{self.tail()}"
            with contextlib.suppress(OSError):
                if http_json("GET", self.url + path)[0] == 200:
                    return
            assert time.monotonic() < deadline, (
                f"{self.name}: {path} not 200 within {START_TIMEOUT_S} s:\n{self.tail()}"
            )
            time.sleep(0.1)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)
        return self.process.returncode

    def interrupt(self) -> int | None:
        """SIGINT, as Ctrl-C; the exit code."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_S)
            raise AssertionError(f"{self.name} ignored SIGINT:\n{self.tail()}") from None
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as when the machine or the OOM killer takes it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT_S)


class Platform:
    """A database of its own and the processes of every role on it."""

    def __init__(self, workdir: Path, database_url: str, group: str) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.group = group
        self.broker = service_url("kafka")
        self.redis_url = service_url("redis")
        self.roles: list[Role] = []
        self.starts = 0
        self.api: Role
        self.gateway1: Role
        self.gateway2: Role
        self.consumer: Role

    def env(self, name: str, **extra: str) -> dict[str, str]:
        values = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("METAVERSE_")
            and key not in ("PORT", "WS_PORT", "HEALTH_PORT", "DATABASE_URL", "REDIS_URL")
            and key not in ("KAFKA_BROKER", "JWT_SECRET")
        }
        values.update(
            DATABASE_URL=self.database_url,
            KAFKA_BROKER=self.broker,
            JWT_SECRET=TEST_JWT_SECRET,
            METAVERSE_DATA_DIR=str(self.workdir / name),
            METAVERSE_SERVICE_ID=name,
            METAVERSE_LOG_LEVEL="warning",
            METAVERSE_SEED_DEMO="false",
            METAVERSE_AUTH_RATE_PER_MINUTE="0",
            METAVERSE_ARGON2_TIME_COST="1",
            METAVERSE_ARGON2_MEMORY_KIB="8192",
            # The flood tests send hundreds of messages a second on one connection.
            METAVERSE_CHAT_RATE_PER_S="10000",
            METAVERSE_CHAT_BURST="10000",
            METAVERSE_FRAME_RATE_PER_S="10000",
            METAVERSE_FRAME_BURST="10000",
            METAVERSE_CONSUMER_GROUP=self.group,
            # A killed consumer's partitions go to its successor after this (the broker's
            # group.min.session.timeout.ms), not after the default 10 s.
            METAVERSE_CONSUMER_SESSION_TIMEOUT_MS="6000",
        )
        values.update(extra)
        return values

    def launch(self, name: str, role: str, port: int, env: dict[str, str]) -> Role:
        log_path = self.workdir / f"{name}.log"
        with log_path.open("ab") as output:
            process = subprocess.Popen(
                [*METAVERSE, role],
                env=env,
                cwd=self.workdir,  # no stray .env file is read
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        started = Role(name, process, log_path, port)
        self.roles.append(started)
        return started

    def migrate(self) -> None:
        done = subprocess.run(
            [*METAVERSE, "migrate"],
            env=self.env("migrate"),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"metaverse migrate failed:\n{done.stderr}"

    def start_api(self) -> Role:
        port = free_port()
        env = self.env("api", PORT=str(port), REDIS_URL=self.redis_url)
        return self.launch("api", "api", port, env)

    def start_gateway(self, name: str) -> Role:
        port = free_port()
        env = self.env(name, WS_PORT=str(port), REDIS_URL=self.redis_url)
        return self.launch(name, "gateway", port, env)

    def start_consumer(
        self, name: str = "consumer", *, group: str | None = None, database_url: str = ""
    ) -> Role:
        """A consumer (without Redis: it needs none), ready once /readyz answers 200. The
        platform's own unless it reads another `group` or database."""
        port = free_port()
        env = self.env(name, HEALTH_PORT=str(port))
        if group is not None:
            env["METAVERSE_CONSUMER_GROUP"] = group
        if database_url:
            env["DATABASE_URL"] = database_url
        self.starts += 1
        consumer = self.launch(f"{name}-{self.starts}", "consumer", port, env)
        consumer.wait_ready("/readyz")
        if group is None and not database_url:
            self.consumer = consumer
        return consumer

    def start(self) -> None:
        self.migrate()
        self.api = self.start_api()
        self.gateway1 = self.start_gateway("gateway1")
        self.gateway2 = self.start_gateway("gateway2")
        self.api.wait_ready("/readyz")
        self.gateway1.wait_ready("/healthz")
        self.gateway2.wait_ready("/healthz")
        self.start_consumer()

    def stop(self) -> None:
        for started in reversed(self.roles):
            started.stop()

    def consumer_metric(self, name: str, **labels: str) -> float:
        return metric(self.consumer.url + "/metrics", name, **labels)


# Kafka, seen from outside the platform.


def ensure_topics(broker: str, topics: tuple[str, ...]) -> None:
    admin = AdminClient({"bootstrap.servers": broker, "log_level": QUIET})
    created = admin.create_topics(
        [NewTopic(topic, PARTITIONS, 1) for topic in topics], operation_timeout=10
    )
    for topic, future in created.items():
        try:
            future.result(timeout=15)
        except KafkaException as error:
            code = error.args[0].code() if error.args else None
            assert code == KafkaError.TOPIC_ALREADY_EXISTS, f"creating {topic}: {error}"


def end_offsets(broker: str, topic: str) -> dict[int, int]:
    """Each partition's high watermark: where a record appended now will land."""
    probe = Consumer({"bootstrap.servers": broker, "group.id": unique("test-probe-")})
    try:
        partitions = probe.list_topics(topic, timeout=10).topics[topic].partitions
        return {
            partition: probe.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
            for partition in partitions
        }
    finally:
        probe.close()


def commit_offsets(broker: str, group: str, offsets: dict[str, dict[int, int]]) -> None:
    """Set `group`'s committed offsets; the group must have no live member."""
    committer = Consumer(
        {"bootstrap.servers": broker, "group.id": group, "enable.auto.commit": False}
    )
    try:
        committed = committer.commit(
            offsets=[
                TopicPartition(topic, partition, offset)
                for topic, ends in offsets.items()
                for partition, offset in ends.items()
            ],
            asynchronous=False,
        )
        failed = [tp for tp in committed if tp.error is not None]
        assert not failed, f"committing offsets for {group} failed: {failed}"
    finally:
        committer.close()


def committed_offsets(broker: str, group: str, topic: str) -> dict[int, int]:
    """`group`'s committed offset for each partition of `topic` (-1001: none yet)."""
    reader = Consumer(
        {
            "bootstrap.servers": broker,
            "group.id": group,
            "enable.auto.commit": False,
            "log_level": QUIET,
        }
    )
    try:
        partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
        committed = reader.committed(
            [TopicPartition(topic, partition) for partition in partitions], timeout=10
        )
        return {tp.partition: tp.offset for tp in committed}
    finally:
        reader.close()


def group_members(broker: str, group: str) -> int:
    """How many members the broker counts in `group` now."""
    admin = AdminClient({"bootstrap.servers": broker, "log_level": QUIET})
    described = admin.describe_consumer_groups([group], request_timeout=10)[group].result(
        timeout=15
    )
    return len(described.members)


def produce(broker: str, topic: str, key: bytes, value: bytes) -> None:
    """Append one record directly, as a misbehaving producer would."""
    errors: list[Any] = []
    producer = Producer({"bootstrap.servers": broker, "acks": "all"})
    producer.produce(topic, value, key, on_delivery=lambda error, _m: errors.append(error))
    assert producer.flush(15) == 0, f"a record for {topic} was not delivered in 15 s"
    assert errors == [None], f"producing to {topic} failed: {errors}"


def read_records(
    broker: str, topic: str, start: dict[int, int], done: Callable[[list[Any]], bool]
) -> list[Any]:
    """JSON values of `topic` from `start` on, read by a fresh group, until `done`."""
    reader = Consumer(
        {
            "bootstrap.servers": broker,
            "group.id": unique("test-reader-"),
            "enable.auto.commit": False,
        }
    )
    values: list[Any] = []
    try:
        reader.assign([TopicPartition(topic, p, offset) for p, offset in start.items()])
        deadline = time.monotonic() + 30
        while not done(values):
            assert time.monotonic() < deadline, f"{topic}: what was awaited did not come: {values}"
            for message in reader.consume(num_messages=100, timeout=0.5):
                if message.error() is None:
                    values.append(json.loads(message.value() or b"null"))
        return values
    finally:
        reader.close()


def database_url(name: str) -> str:
    """The URL of database `name` on the test PostgreSQL server."""
    base = make_url(service_url("database"))
    return base.set(database=name).render_as_string(hide_password=False)


def database_admin(statement: str) -> None:
    """Run `statement` (CREATE/DROP DATABASE) on the server's maintenance database."""

    async def run() -> None:
        engine = make_engine(database_url("postgres"))
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
        await engine.dispose()

    run_isolated(run())


def seeded_group(broker: str) -> str:
    """A new consumer group that starts at the consumed topics' current ends."""
    group = unique("test-pipeline-")
    commit_offsets(broker, group, {topic: end_offsets(broker, topic) for topic in CONSUMED_TOPICS})
    return group


@contextlib.contextmanager
def running_platform(workdir: Path, *, exclusive: bool) -> Iterator[Platform]:
    """A platform on a fresh database, under the services lock (`exclusive` for modules
    that stop and start the services)."""
    name = unique("metaverse_pipeline_")
    with services_held(exclusive=exclusive):
        database_admin(f'CREATE DATABASE "{name}"')
        try:
            broker = service_url("kafka")
            ensure_topics(broker, ALL_TOPICS)
            platform = Platform(workdir, database_url(name), group=seeded_group(broker))
            try:
                platform.start()
                yield platform
            finally:
                platform.stop()
        finally:
            database_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("platform"), exclusive=False) as started:
        yield started


# Clients.


class ChatClient:
    """A WebSocket client of one gateway process. A background task reads every frame,
    so that a client that only sends never has its outbox overflow."""

    def __init__(self, name: str, ws: ClientConnection) -> None:
        self.name = name
        self.ws = ws
        self.frames: list[Frame] = []
        self.replies: dict[str, Frame] = {}  # chat-ack / chat-error by clientId
        self._changed = asyncio.Event()
        self._reading = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                frame: Frame = json.loads(raw)
                self.frames.append(frame)
                if frame["type"] in ("chat-ack", "chat-error"):
                    self.replies[frame["payload"]["clientId"]] = frame
                self._changed.set()
                self._changed = asyncio.Event()
        self._changed.set()

    async def send(self, type_: str, payload: dict[str, Any]) -> None:
        await self.ws.send(json.dumps({"type": type_, "payload": payload}))

    async def wait_for(
        self, match: Callable[[Frame], bool], what: str, timeout_s: float = FRAME_TIMEOUT_S
    ) -> Frame:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            for frame in self.frames:
                if match(frame):
                    return frame
            assert not self._reading.done(), (
                f"{self.name}: the connection closed ({self.ws.close_code}) before {what}"
            )
            remaining = deadline - asyncio.get_running_loop().time()
            assert remaining > 0, (
                f"{self.name}: no {what} within {timeout_s} s; last frames: {self.frames[-5:]}"
            )
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await changed.wait()

    async def chat(self, scope: str, text_: str, **extra: str) -> str:
        """Send one message; its clientId."""
        client_id = uuid.uuid4().hex
        await self.send("chat", {"scope": scope, "text": text_, "clientId": client_id, **extra})
        return client_id

    async def reply(self, client_id: str, timeout_s: float = FRAME_TIMEOUT_S) -> Frame:
        return await self.wait_for(
            lambda f: (
                f["type"] in ("chat-ack", "chat-error") and f["payload"]["clientId"] == client_id
            ),
            f"reply to {client_id}",
            timeout_s,
        )

    async def say(self, scope: str, text_: str, **extra: str) -> str:
        """Send one message and expect its ack; the message id."""
        frame = await self.reply(await self.chat(scope, text_, **extra))
        assert frame["type"] == "chat-ack", f"{self.name}: {text_!r} was refused: {frame}"
        message_id: str = frame["payload"]["id"]
        return message_id

    def chats(self) -> list[Frame]:
        """The payloads of the `chat` frames received so far."""
        return [frame["payload"] for frame in self.frames if frame["type"] == "chat"]

    async def receives(self, message_id: str, timeout_s: float = FRAME_TIMEOUT_S) -> Frame:
        frame = await self.wait_for(
            lambda f: f["type"] == "chat" and f["payload"]["id"] == message_id,
            f"chat {message_id}",
            timeout_s,
        )
        payload: Frame = frame["payload"]
        return payload

    async def close(self) -> None:
        await self.ws.close()
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reading


@dataclass(frozen=True)
class Account:
    user_id: str
    username: str
    token: str


@dataclass
class World:
    """Accounts and spaces written with the project's own code into the platform's
    database, tokens signed with the processes' secret, and clients of the gateways."""

    platform: Platform
    context: ApiContext
    clients: list[ChatClient] = field(default_factory=list)

    async def user(self) -> Account:
        username = unique("u")
        async with self.context.sessions() as session:
            user_id = await self.context.accounts.signup(session, username, "password1", "user")
        token = self.context.accounts.access_tokens.issue(user_id, "user")
        return Account(user_id, username, token)

    async def space(self, owner: Account, *members: Account) -> str:
        """A public space of `owner` with `members` as members (direct messages reach
        members connected to any gateway)."""
        async with self.context.sessions() as session:
            space = Space(name="pipeline", owner_id=owner.user_id, width=30, height=30)
            session.add(space)
            await session.flush()
            session.add(SpaceMember(space_id=space.id, user_id=owner.user_id, role="owner"))
            for member in members:
                session.add(SpaceMember(space_id=space.id, user_id=member.user_id, role="member"))
            await session.commit()
            return space.id

    async def join(
        self,
        gateway: Role,
        account: Account,
        space_id: str,
        capabilities: tuple[str, ...] = ("chat",),
        **extra: Any,
    ) -> ChatClient:
        """`account` joins through `gateway`; `extra` goes into the `join` (a viewport, a
        resume)."""
        ws = await connect(f"ws://127.0.0.1:{gateway.port}/ws", max_size=2**20)
        client = ChatClient(f"{account.username}@{gateway.name}", ws)
        self.clients.append(client)
        join = {"spaceId": space_id, "token": account.token, "capabilities": list(capabilities)}
        await client.send("join", {**join, **extra})
        await client.wait_for(lambda f: f["type"] in ("space-joined", "error"), "space-joined")
        assert client.frames[0]["type"] == "space-joined", client.frames[0]
        return client

    async def stored(self, space_id: str) -> tuple[list[str], int]:
        """The ids of the space's stored messages, and count(DISTINCT id)."""
        async with self.context.sessions() as session:
            ids = list(
                await session.scalars(
                    select(ChatMessage.id).where(ChatMessage.space_id == space_id)
                )
            )
            distinct = await session.scalar(
                select(func.count(func.distinct(ChatMessage.id))).where(
                    ChatMessage.space_id == space_id
                )
            )
        return ids, int(distinct or 0)

    async def wait_stored(self, space_id: str, ids: set[str], timeout_s: float = 30.0) -> list[str]:
        """Poll until every id in `ids` is stored; the space's stored ids."""
        stored: list[str] = []

        async def all_stored() -> bool:
            nonlocal stored
            stored = (await self.stored(space_id))[0]
            return ids <= set(stored)

        try:
            await eventually(all_stored, "storing the messages", timeout_s)
        except AssertionError:
            missing = len(ids - set(stored))
            raise AssertionError(
                f"{missing} of {len(ids)} messages not stored within {timeout_s} s;"
                f" consumer:\n{self.platform.consumer.tail()}"
            ) from None
        return stored


@pytest.fixture
async def world(platform: Platform, tmp_path: Path) -> AsyncIterator[World]:
    settings = Settings(
        _env_file=None,
        database_url=platform.database_url,
        jwt_secret=TEST_JWT_SECRET,
        data_dir=tmp_path / "world",
        seed_demo=False,
        argon2_time_cost=1,
        argon2_memory_kib=8 * 1024,
    )
    context = ApiContext.build(settings, SystemClock())
    made = World(platform, context)
    yield made
    for client in made.clients:
        await client.close()
    await context.close()
