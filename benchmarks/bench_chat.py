"""Chat end to end: clients → gateway → event log → consumer → database, and live delivery.

Three set-ups (`--modes`), each on a database of its own:

- `single`: `metaverse serve` (SQLite in a temporary data directory, the in-memory event
  log and pub/sub, the consumer in the same process);
- `service`: `metaverse consumer` and one `metaverse gateway` on PostgreSQL (a fresh
  database), Redis and Kafka (a fresh consumer group starting at the topics' ends);
- `service-2gw`: the same with two gateways, the clients split between them.

A separate load process joins N clients (capability `chat`) to one space, standing where
they spawned (about one per 100 tiles), and runs three measurements on the same connections:

- throughput: each client keeps `--inflight` messages unacknowledged (the next one goes out
  when an ack or error comes back; by default 16, the gateway's window per connection, so
  that the load is bound by what the platform carries, not by the ack round trip)
  for a warm-up and a measured window; then the bench
  waits until the database count stops growing and checks that every acknowledged id is
  there, once (zero loss). Rows persisted per second in the window is the headline. Once
  with one message in ten of scope `space` (to everyone, the rest `nearby`: the few within
  the chat radius), once with `nearby` only, which leaves out most of the fan-out;
- latency: the clients together send `--rate` messages a second (one in ten `space`) on a
  fixed schedule; every client reads its `chat` frames, and send-to-receive times are
  matched by the text marker (the clientId) in the same process.

The per-user chat limit (5/s) and the per-connection frame limit are raised for the bench
clients: they are abuse limits, not what the platform can carry.

    python benchmarks/bench_chat.py                    # the three modes, 3-4 minutes
    python benchmarks/bench_chat.py --quick            # single and service, 3 s windows
    python benchmarks/bench_chat.py --modes single --phases latency --clients 50

Service modes need METAVERSE_TEST_DATABASE_URL, METAVERSE_TEST_REDIS_URL and
METAVERSE_TEST_KAFKA_BROKER (`set -a; . .services/env; set +a`); without them they are
skipped. Prints two tables and writes benchmarks/results/chat.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from metaverse.gateway.chat import MAX_IN_FLIGHT

if TYPE_CHECKING:  # mypy names modules from the repository's root
    from benchmarks import harness
else:  # a script runs with benchmarks/ first on sys.path
    import harness

RESULTS = Path(__file__).parent / "results" / "chat.json"
MODES = ("single", "service", "service-2gw")
TILES_PER_CLIENT = 100  # the map's side grows with the crowd: density stays the same
CHAT_RADIUS = 5.0  # tiles; the platform's default, set explicitly for the bench
SPACE_EVERY = 10  # one message in ten goes to the whole space
FILLER = "a chat message of about the usual length, sent by a bench client"
LIMIT = "100000"  # per-connection chat and frame rates and bursts: out of the way
JOIN_CONCURRENCY = 50
JOIN_TIMEOUT_S = 60.0
STALL_S = 10.0  # a client waiting this long for an ack gives up the phase
ACK_WAIT_S = 15.0  # after the last send, for the acks still due
GRACE_S = 2.0  # after the latency window, for late deliveries
LATE_SEND_MS = 5.0  # a scheduled send this late means the load process fell behind
DRAIN_POLL_S = 0.25
# Counting costs the database CPU taken from the platform on the same two cores: every
# quarter second, counting the whole table took PostgreSQL ~30 ms at 300,000 rows.
WINDOW_POLL_S = 0.5
DRAIN_QUIET_S = 5.0  # no new rows for this long: the consumer is done (or stuck)
DRAIN_TIMEOUT_S = 90.0
SERVICE_VARIABLES = (
    "METAVERSE_TEST_DATABASE_URL",
    "METAVERSE_TEST_REDIS_URL",
    "METAVERSE_TEST_KAFKA_BROKER",
)
CHAT_FRAME = b'{"type":"chat",'
REPLY_FRAMES = (b'{"type":"chat-ack"', b'{"type":"chat-error"')


# The load process: clients that chat and read.


@dataclass
class Client:
    index: int
    user_id: str
    token: str
    url: str
    ws: harness.TextConnection | None = None
    x: int = 0
    y: int = 0
    seq: int = 0
    expected: int = 0  # how many other clients each of its `nearby` messages should reach
    pending: dict[str, float] = field(default_factory=dict)  # clientId -> sent at
    refill_until: float | None = None  # throughput: each reply sends the next message until
    replied_at: float = 0.0  # throughput: when the last ack or error came
    close_code: int | None = None


@dataclass
class Phase:
    """What one measurement saw, from the load's side (times are perf_counter seconds)."""

    name: str
    window: tuple[float, float]
    sent: int = 0
    sent_in_window: int = 0
    acked_in_window: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    acked_ids: list[str] = field(default_factory=list)
    ack_ms: list[float] = field(default_factory=list)
    delivery_ms: list[float] = field(default_factory=list)
    received_in_window: int = 0
    expected_deliveries: int = 0
    delivered: int = 0  # of the messages sent in the window, to whoever should get them
    late_sends: int = 0
    stalled: int = 0

    def in_window(self, at: float) -> bool:
        return self.window[0] <= at < self.window[1]


class Load:
    def __init__(self, plan: dict[str, Any], pauses: harness.CollectorPauses) -> None:
        self.plan = plan
        self.pauses = pauses
        urls: list[str] = plan["urls"]
        self.clients = [
            Client(n, user_id, token, urls[n % len(urls)])
            for n, (user_id, token) in enumerate(plan["users"])
        ]
        self.rng = random.Random(plan["seed"])
        self.joined: list[Client] = []
        self.join_errors: Counter[str] = Counter()
        # Every message sent: clientId -> (sent at, recipients it should reach).
        self.sent: dict[str, tuple[float, int]] = {}
        self.phase = Phase("idle", (math.inf, math.inf))
        self.space_every = SPACE_EVERY  # 0: every message `nearby`
        self.readers: list[asyncio.Task[None]] = []
        # Refills whose socket was backed up, sent the slow way (rare).
        self.backlog: list[asyncio.Future[None]] = []
        self.stopping = False

    async def join(self, client: Client, gate: asyncio.Semaphore) -> None:
        async with gate:
            try:
                ws = await connect(
                    client.url,
                    compression=None,
                    ping_interval=None,
                    close_timeout=1,
                    max_size=2**22,
                    open_timeout=JOIN_TIMEOUT_S,
                    create_connection=harness.TextConnection,
                    # The frames that come with `space-joined`, before `listen`, stay
                    # unread in websockets' queue: it must not stop reading for them.
                    max_queue=None,
                )
            except (OSError, InvalidStatus, TimeoutError) as error:
                self.join_errors[type(error).__name__] += 1
                return
            payload = {"spaceId": self.plan["space_id"], "token": client.token}
            await ws.send(
                json.dumps({"type": "join", "payload": {**payload, "capabilities": ["chat"]}})
            )
            first = json.loads(await ws.recv())
            assert isinstance(ws, harness.TextConnection)
            self.listen(client, ws)
            if first["type"] != "space-joined":
                self.join_errors[first["payload"].get("code", first["type"])] += 1
                await ws.close()
                return
            client.x, client.y = first["payload"]["spawn"]["x"], first["payload"]["spawn"]["y"]
            client.ws = ws

    def plan_recipients(self) -> None:
        """How many clients each one's `nearby` messages should reach (nobody moves)."""
        radius_sq = CHAT_RADIUS**2
        for client in self.joined:
            client.expected = sum(
                1
                for other in self.joined
                if other is not client
                and (other.x - client.x) ** 2 + (other.y - client.y) ** 2 <= radius_sq
            )

    def listen(self, client: Client, ws: harness.TextConnection) -> None:
        """Take `client`'s frames as they are parsed (set at once after `space-joined`,
        before other frames can pile up unread in websockets' queue)."""

        def on_text(data: bytes, at: float) -> None:
            if data.startswith(CHAT_FRAME):
                self.on_delivery(data, at)
            elif data.startswith(REPLY_FRAMES):
                self.on_reply(client, json.loads(data), at)

        ws.on_text = on_text

    async def read(self, client: Client) -> None:
        """Wait for `client`'s connection to close (its frames are taken by `listen`)."""
        assert client.ws is not None
        await client.ws.wait_closed()
        if not self.stopping:
            client.close_code = client.ws.close_code

    def on_delivery(self, text: bytes, at: float) -> None:
        phase = self.phase
        if phase.in_window(at):
            phase.received_in_window += 1
        if phase.name != "latency":
            return  # counted without parsing: the load process has to keep up
        marker = json.loads(text)["payload"]["text"].split(" ", 1)[0]
        sent = self.sent.get(marker)
        if sent is not None and phase.in_window(sent[0]):
            phase.delivery_ms.append((at - sent[0]) * 1000)
            phase.delivered += 1

    def on_reply(self, client: Client, frame: dict[str, Any], at: float) -> None:
        phase, payload = self.phase, frame["payload"]
        sent_at = client.pending.pop(payload.get("clientId"), None)
        if sent_at is None:
            return  # the reply to a message of an earlier phase
        if frame["type"] == "chat-ack":
            phase.acked_ids.append(payload["id"])
            if phase.in_window(at):
                phase.acked_in_window += 1
            if phase.in_window(sent_at):
                phase.ack_ms.append((at - sent_at) * 1000)
        else:
            phase.errors[payload.get("code", "?")] += 1
        if client.refill_until is not None:
            client.replied_at = at
            if at < client.refill_until:
                self.refill(client)

    def next_frame(self, client: Client) -> str:
        """`client`'s next message, noted as sent now."""
        client.seq += 1
        client_id = f"{client.index}.{client.seq}"
        every = self.space_every
        everyone = every > 0 and (client.index + client.seq) % every == 0
        scope = "space" if everyone else "nearby"
        # What json.dumps would write: the id and the filler need no escaping.
        frame = (
            f'{{"type":"chat","payload":{{"scope":"{scope}",'
            f'"text":"{client_id} {FILLER}","clientId":"{client_id}"}}}}'
        )
        at = time.perf_counter()
        phase = self.phase
        recipients = len(self.joined) - 1 if everyone else client.expected
        self.sent[client_id] = (at, recipients)
        client.pending[client_id] = at
        phase.sent += 1
        if phase.in_window(at):
            phase.sent_in_window += 1
            phase.expected_deliveries += recipients
        return frame

    async def send(self, client: Client) -> None:
        assert client.ws is not None
        frame = self.next_frame(client)
        if not client.ws.send_now(frame):
            await client.ws.send(frame)

    def refill(self, client: Client) -> None:
        """Throughput: the next message in place of one just answered. It goes out with
        the others that the replies of the same read free, in one write."""
        assert client.ws is not None
        frame = self.next_frame(client)
        if not client.ws.send_after_read(frame):
            self.backlog.append(asyncio.ensure_future(client.ws.send(frame)))

    async def pump(self, client: Client, inflight: int, end: float) -> None:
        """Throughput: keep `inflight` messages unacknowledged until `end` (each reply sends
        the next one, `refill`, without waking a task)."""
        client.replied_at = time.perf_counter()
        client.refill_until = end
        try:
            for _ in range(inflight):
                await self.send(client)
            await asyncio.sleep(max(0.0, end - time.perf_counter()))
        except ConnectionClosed:
            pass
        finally:
            client.refill_until = None

    async def watch(self, pumps: list[tuple[Client, asyncio.Task[None]]]) -> None:
        """Stop the pumps of clients that heard no reply for STALL_S (one timer for all
        rather than one per message: the load process must stay cheap)."""
        while not all(task.done() for _, task in pumps):
            await asyncio.sleep(1.0)
            stalled_before = time.perf_counter() - STALL_S
            for client, task in pumps:
                if not task.done() and client.pending and client.replied_at < stalled_before:
                    self.phase.stalled += 1
                    client.refill_until = None
                    task.cancel()

    async def pace(self, client: Client, period_s: float, start: float, end: float) -> None:
        """Latency: one message every `period_s`, whatever the acks, until `end`."""
        due = start + self.rng.random() * period_s
        try:
            while due < end and client.close_code is None:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                if (time.perf_counter() - due) * 1000 > LATE_SEND_MS:
                    self.phase.late_sends += 1
                await self.send(client)
                due += period_s
        except ConnectionClosed:
            pass

    async def settle_acks(self) -> int:
        """Wait (bounded) for the acks still due; returns how many never came."""
        deadline = time.perf_counter() + ACK_WAIT_S
        while time.perf_counter() < deadline:
            if not any(client.pending for client in self.joined):
                break
            await asyncio.sleep(0.05)
        missing = sum(len(client.pending) for client in self.joined)
        for client in self.joined:
            client.pending.clear()
            client.refill_until = None
        return missing

    async def measure(self, command: dict[str, Any]) -> dict[str, Any]:
        start = time.perf_counter()
        window = (start + command["warmup_s"], start + command["warmup_s"] + command["measure_s"])
        phase = self.phase = Phase(command["phase"], window)
        self.space_every = command["space_every"]
        cpu_at_start = time.process_time()
        self.pauses.restart()
        if phase.name == "throughput":
            pumps = [
                (client, asyncio.create_task(self.pump(client, command["inflight"], window[1])))
                for client in self.joined
            ]
            watching = asyncio.create_task(self.watch(pumps))
            await asyncio.gather(*(task for _, task in pumps), return_exceptions=True)
            watching.cancel()
            await asyncio.gather(*self.backlog, return_exceptions=True)
            self.backlog.clear()
        else:
            period_s = len(self.joined) / command["rate_per_s"]
            await asyncio.gather(
                *(self.pace(client, period_s, start, window[1]) for client in self.joined)
            )
        cpu_s = time.process_time() - cpu_at_start
        sent_s = time.perf_counter() - start
        if phase.name == "latency":
            await asyncio.sleep(GRACE_S)
        unacked = await self.settle_acks()
        self.phase = Phase("idle", (math.inf, math.inf))
        return {
            "sent": phase.sent,
            "sent_in_window": phase.sent_in_window,
            "acked": len(phase.acked_ids),
            "acked_in_window": phase.acked_in_window,
            "acked_ids": phase.acked_ids,
            "errors": dict(phase.errors),
            "unacked": unacked,
            "stalled_clients": phase.stalled,
            "closed_clients": sum(client.close_code is not None for client in self.joined),
            "ack_ms": phase.ack_ms,
            "delivery_ms": phase.delivery_ms,
            "received_in_window": phase.received_in_window,
            "expected_deliveries": phase.expected_deliveries,
            "delivered": phase.delivered,
            "late_sends": phase.late_sends,
            "load_cpu_pct": round(100 * cpu_s / sent_s, 1),
            **self.pauses.summary(),
        }

    async def run(self, pipe: Pipe) -> None:
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(JOIN_CONCURRENCY)
        await asyncio.gather(*(self.join(client, gate) for client in self.clients))
        self.joined = [client for client in self.clients if client.ws is not None]
        self.plan_recipients()
        self.readers = [asyncio.create_task(self.read(client)) for client in self.joined]
        nearby = [client.expected for client in self.joined]
        pipe.send(
            {
                "joined": len(self.joined),
                "join_errors": dict(self.join_errors),
                "nearby_recipients": sum(nearby) / max(1, len(nearby)),
            }
        )
        try:
            while True:
                command: dict[str, Any] = await loop.run_in_executor(None, pipe.recv)
                if command["phase"] == "stop":
                    break
                pipe.send(await self.measure(command))
        finally:
            self.stopping = True
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await asyncio.gather(
                        *(client.ws.close() for client in self.joined if client.ws is not None)
                    )
            for task in self.readers:
                task.cancel()


def load_process(plan: dict[str, Any], pipe: Pipe) -> None:
    """Entry point of the load process (spawned, so it starts without the parent's state)."""
    try:
        with harness.load_collector() as pauses:
            asyncio.run(Load(plan, pauses).run(pipe))
    except BaseException as error:
        pipe.send({"error": repr(error)})
        raise


# The database, seen from the bench.


class Database:
    """The bench's database, read from this process on one event loop of its own."""

    def __init__(self, url: str) -> None:
        from metaverse.db.engine import make_engine

        self.runner = asyncio.Runner()
        self.engine = make_engine(url)

    def count(self, space_id: str) -> int:
        from sqlalchemy import func, select

        from metaverse.db.models import ChatMessage

        query = (
            select(func.count()).select_from(ChatMessage).where(ChatMessage.space_id == space_id)
        )
        return int(self.runner.run(self._scalar(query)))

    def newest_id(self) -> str:
        """The largest message id stored (the primary key's last entry: no scan)."""
        from sqlalchemy import func, select

        from metaverse.db.models import ChatMessage

        return str(self.runner.run(self._scalar(select(func.max(ChatMessage.id)))) or "")

    def count_after(self, floor_id: str) -> int:
        """Rows whose id sorts after `floor_id`: a range of the primary key, so a count
        during a phase reads that phase's rows, not the whole table of earlier phases."""
        from sqlalchemy import func, select

        from metaverse.db.models import ChatMessage

        query = select(func.count()).select_from(ChatMessage).where(ChatMessage.id > floor_id)
        return int(self.runner.run(self._scalar(query)))

    def ids(self, space_id: str) -> tuple[set[str], int]:
        """The ids of the space's messages, and how many rows there are."""
        from sqlalchemy import select

        from metaverse.db.models import ChatMessage

        async def fetch() -> list[str]:
            async with self.engine.connect() as connection:
                result = await connection.execute(
                    select(ChatMessage.id).where(ChatMessage.space_id == space_id)
                )
                return [row[0] for row in result]

        rows = self.runner.run(fetch())
        return set(rows), len(rows)

    async def _scalar(self, query: Any) -> Any:
        async with self.engine.connect() as connection:
            return (await connection.execute(query)).scalar_one()

    def close(self) -> None:
        self.runner.run(self.engine.dispose())
        self.runner.close()


def populate(
    database: Database, settings_env: dict[str, str], users: int
) -> tuple[list[tuple[str, str]], str]:
    """Insert the users and one public space sized for them; return (user id, token)s."""
    from metaverse.api.context import ApiContext
    from metaverse.clock import SystemClock
    from metaverse.db.models import Space, SpaceMember, User
    from metaverse.settings import Settings

    settings = Settings(
        data_dir=Path(settings_env["METAVERSE_DATA_DIR"]),
        database_url=settings_env.get("DATABASE_URL"),
        jwt_secret=harness.JWT_SECRET,
        seed_demo=False,
        access_token_ttl_s=6 * 3600,  # however long the run takes
        _env_file=None,
    )
    side = map_side(users)

    async def insert() -> tuple[list[tuple[str, str]], str]:
        context = ApiContext.build(settings, SystemClock())
        try:
            async with context.sessions() as session:
                rows = [
                    User(username=f"chat{i}", password_hash=harness.NO_PASSWORD)
                    for i in range(users)
                ]
                session.add_all(rows)
                await session.flush()
                space = Space(
                    name="bench chat",
                    owner_id=rows[0].id,
                    width=side,
                    height=side,
                    visibility="public",
                )
                session.add(space)
                await session.flush()
                session.add(SpaceMember(space_id=space.id, user_id=rows[0].id, role="owner"))
                await session.commit()
                ids, space_id = [row.id for row in rows], space.id
            tokens = context.accounts.access_tokens
            return [(user_id, tokens.issue(user_id, "user")) for user_id in ids], space_id
        finally:
            await context.close()

    return database.runner.run(insert())


def map_side(clients: int) -> int:
    return max(10, round(math.sqrt(clients * TILES_PER_CLIENT)))


# The processes of one set-up.


@dataclass
class Deployment:
    processes: list[harness.RoleProcess]
    urls: list[str]  # where clients connect, one per gateway
    metric_ports: list[int]  # /metrics of every process (gateway and consumer counters)

    def metrics(self) -> dict[str, float] | None:
        """Every process's samples summed by name; None if one of them didn't answer."""
        merged: dict[str, float] = {}
        for port in self.metric_ports:
            values = harness.scrape(port, timeout_s=5)
            if values is None:
                return None
            for key, value in values.items():
                merged[key] = merged.get(key, 0.0) + value
        return merged

    def wait_consuming(self, timeout_s: float = 30.0) -> None:
        """Until the consumer has read something (the clients' join events): it is in its
        group and polling, so the first measured messages don't wait for that."""
        deadline = harness.now() + timeout_s
        while harness.now() < deadline:
            metrics = self.metrics()
            if metrics and harness.total(metrics, "metaverse_consumer_records_total") > 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the consumer read no record in {timeout_s:.0f} s")


def start_deployment(
    stack: contextlib.ExitStack, mode: str, env: dict[str, str], workdir: Path
) -> Deployment:
    if mode == "single":
        serve = harness.RoleProcess("serve", env, workdir, ports=("METAVERSE_PORT",))
        stack.enter_context(serve)
        return Deployment([serve], [f"ws://127.0.0.1:{serve.port}/ws"], [serve.port])
    consumer = harness.RoleProcess("consumer", env, workdir, port_setting="METAVERSE_HEALTH_PORT")
    stack.enter_context(consumer)
    gateways = []
    for n in range(2 if mode == "service-2gw" else 1):
        name = f"gateway{n + 1}"
        gateway = harness.RoleProcess(
            "gateway", {**env, "METAVERSE_SERVICE_ID": name}, workdir, name=name
        )
        stack.enter_context(gateway)
        gateways.append(gateway)
    return Deployment(
        [*gateways, consumer],
        [f"ws://127.0.0.1:{gateway.port}/ws" for gateway in gateways],
        [consumer.port, *(gateway.port for gateway in gateways)],
    )


class LoadProcess:
    """The load process, stopped (asked, then terminated, then killed) on exit."""

    def __init__(self, plan: dict[str, Any]) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, theirs = context.Pipe()
        self.process = context.Process(target=load_process, args=(plan, theirs), daemon=True)

    def __enter__(self) -> LoadProcess:
        self.process.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        with contextlib.suppress(OSError):
            self.pipe.send({"phase": "stop"})
        self.process.join(15)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


def service_urls() -> dict[str, str] | None:
    values = {name: os.environ.get(name, "") for name in SERVICE_VARIABLES}
    return values if all(values.values()) else None


def start_at_log_end(broker: str, group: str) -> None:
    """Commit `group`'s offsets at the consumed topics' current ends: a fresh group would
    otherwise replay every record earlier runs left there (of spaces in other databases)."""
    from confluent_kafka import Consumer, TopicPartition

    from metaverse.consumer.service import TOPICS

    consumer = Consumer(
        {"bootstrap.servers": broker, "group.id": group, "enable.auto.commit": False}
    )
    try:
        topics = consumer.list_topics(timeout=10).topics
        ends = []
        for topic in TOPICS:
            for partition in topics[topic].partitions if topic in topics else ():
                where = TopicPartition(topic, partition)
                _, high = consumer.get_watermark_offsets(where, timeout=10)
                ends.append(TopicPartition(topic, partition, high))
        if ends:
            consumer.commit(offsets=ends, asynchronous=False)
    finally:
        consumer.close()


# Measuring.


def rate(counts: list[tuple[float, int]]) -> float:
    """Rows a second: the least-squares slope of (time, count) samples."""
    times = [at for at, _ in counts]
    rows = [count for _, count in counts]
    return statistics.linear_regression(times, rows).slope


class Probe:
    """Rows in the database, CPU of everything and the platform's counters at one instant."""

    def __init__(self, deployment: Deployment, database: Database, floor_id: str) -> None:
        self.at = harness.now()
        self.count = database.count_after(floor_id)
        self.cpu = {p.name: harness.cpu_seconds(p.pid) for p in deployment.processes}
        self.threads = {p.name: threads_cpu(p.pid) for p in deployment.processes}
        self.services = harness.services_cpu()
        self.machine = harness.machine_cpu()
        self.metrics = deployment.metrics()


def threads_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """Name and CPU seconds of each thread of a process, by thread id."""
    seconds: dict[int, tuple[str, float]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that just ended
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])
            name = (task / "comm").read_text().strip()
            seconds[int(task.name)] = (name, ticks / os.sysconf("SC_CLK_TCK"))
    return seconds


def threads_split(first: Probe, last: Probe) -> dict[str, dict[str, float]]:
    """Each process's CPU by thread name (numbers folded: `Thread-#`), in % of one core."""
    wall = last.at - first.at
    split: dict[str, dict[str, float]] = {}
    for process, threads in last.threads.items():
        before = first.threads.get(process, {})
        by_name: dict[str, float] = {}
        for tid, (name, seconds) in threads.items():
            folded = re.sub(r"\d+", "#", name)
            by_name[folded] = by_name.get(folded, 0.0) + seconds - before.get(tid, (name, 0.0))[1]
        split[process] = {
            name: round(100 * value / wall, 1)
            for name, value in sorted(by_name.items(), key=lambda item: -item[1])
            if value > 0
        }
    return split


def cpu_split(first: Probe, last: Probe, load_cpu_pct: float) -> dict[str, Any]:
    """Where the machine's CPU went over the window, in % of one core."""
    wall = last.at - first.at
    processes = {name: 100 * (last.cpu[name] - first.cpu[name]) / wall for name in last.cpu}
    by_name: dict[str, float] = {}
    for pid, (name, seconds) in last.services.items():
        if pid in first.services:  # PostgreSQL backends come and go
            by_name[name] = by_name.get(name, 0.0) + seconds - first.services[pid][1]
    services = sum(by_name.values())
    busy, steal, _ = (a - b for a, b in zip(last.machine, first.machine, strict=True))
    ours = sum(processes.values()) / 100 * wall + services + load_cpu_pct / 100 * wall
    gateways = [v for k, v in processes.items() if k != "consumer"]
    return {
        "cpu_pct": {name: round(value, 1) for name, value in processes.items()},
        "thread_cpu_pct": threads_split(first, last),
        "gateway_cpu_pct": round(sum(gateways), 1),
        "consumer_cpu_pct": harness.rounded(processes.get("consumer")),
        "services_cpu_pct": round(100 * services / wall, 1),
        "services_cpu_pct_by_name": {k: round(100 * v / wall, 1) for k, v in by_name.items()},
        "load_cpu_pct": load_cpu_pct,
        "other_cpu_pct": round(100 * max(0.0, busy - ours) / wall, 1),
        "steal_pct": round(100 * steal / wall, 1),
    }


def consumer_side(first: Probe, last: Probe) -> dict[str, Any]:
    """The consumer's batches over the window, from its own counters."""
    before, after, wall = first.metrics, last.metrics, last.at - first.at
    batches = harness.delta(before, after, "metaverse_consumer_batch_size_count")
    records = harness.delta(before, after, "metaverse_consumer_batch_size_sum")
    insert_s = harness.delta(before, after, "metaverse_consumer_insert_duration_seconds_sum")
    return {
        "consumer_batches": batches,
        "consumer_mean_batch": round(records / batches, 1) if records and batches else None,
        # Time spent writing batches (parse, insert, commit), in % of the window.
        "consumer_insert_pct": harness.rounded(None if insert_s is None else 100 * insert_s / wall),
        "consumer_ms_per_batch": (
            round(1000 * insert_s / batches, 1) if insert_s is not None and batches else None
        ),
        "consumer_lag_s": None if after is None else after.get("metaverse_consumer_lag_seconds"),
        "dead_letters": harness.delta({}, after, "metaverse_consumer_dead_letters_total"),
        "slow_closes": harness.delta({}, after, 'metaverse_gateway_closed_total{reason="slow"}'),
    }


class RowCount:
    """The space's row count, polled: when it last grew, and whether it stopped."""

    def __init__(self, database: Database, space_id: str) -> None:
        self.database = database
        self.space_id = space_id
        self.count = database.count(space_id)
        self.changed = harness.now()

    def poll(self) -> None:
        latest = self.database.count(self.space_id)
        if latest != self.count:
            self.count, self.changed = latest, harness.now()

    def drain(self, expected: int) -> None:
        """Poll until the count stops growing (bounded). Once it reaches `expected` (rows of
        every acknowledged message), a second of quiet says the rest is not coming (their
        acks were lost); below it, the consumer may still be catching up."""
        deadline = harness.now() + DRAIN_TIMEOUT_S
        while harness.now() < deadline:
            quiet_s = harness.now() - self.changed
            if (self.count >= expected and quiet_s >= 1.0) or quiet_s >= DRAIN_QUIET_S:
                return
            time.sleep(DRAIN_POLL_S)
            self.poll()


def measure(
    deployment: Deployment,
    load: LoadProcess,
    database: Database,
    space_id: str,
    command: dict[str, Any],
) -> dict[str, Any]:
    """One phase: the load runs it while this process probes the window, then the drain
    and the zero-loss check."""
    before = database.count(space_id)
    # Ids are time-ordered: the phase's rows sort after every row stored before it (a
    # message accepted earlier but stored later is a constant offset by the window).
    floor_id = database.newest_id()
    load.pipe.send(command)
    time.sleep(command["warmup_s"])
    first = Probe(deployment, database, floor_id)
    # The count grows a consumer batch at a time (up to 5,000 rows): the rate is the slope
    # through counts taken every half second, not the difference of two of them.
    counts = [(first.at, first.count)]
    while (left := command["measure_s"] - (harness.now() - first.at)) > WINDOW_POLL_S:
        time.sleep(WINDOW_POLL_S)
        counts.append((harness.now(), database.count_after(floor_id)))
    time.sleep(max(0.0, left))
    last = Probe(deployment, database, floor_id)
    counts.append((last.at, last.count))
    # The load is done a little after the window (acks still due, late deliveries): the
    # count is polled meanwhile, to see when the last row landed.
    rows = RowCount(database, space_id)
    deadline = harness.now() + STALL_S + ACK_WAIT_S + GRACE_S + 60
    while not load.pipe.poll(DRAIN_POLL_S) and harness.now() < deadline:
        rows.poll()
    result = harness.receive(load.pipe, 0)
    rows.drain(before + result["acked"])
    count, drain_s = rows.count, max(0.0, rows.changed - last.at)
    ids, stored = database.ids(space_id)
    acked = set(result["acked_ids"])
    wall = last.at - first.at
    measure_s = command["measure_s"]
    ack_ms, delivery_ms = sorted(result["ack_ms"]), sorted(result["delivery_ms"])
    row: dict[str, Any] = {
        "window_s": round(wall, 3),
        "sent": result["sent"],
        "acked": result["acked"],
        "errors": sum(result["errors"].values()),
        "error_codes": result["errors"],
        "unacked": result["unacked"],
        "persisted": count - before,
        # Every acknowledged message must be in the database, once.
        "lost": len(acked - ids),
        "duplicates": stored - len(ids) + result["acked"] - len(acked),
        "sent_per_s": round(result["sent_in_window"] / measure_s, 1),
        "acked_per_s": round(result["acked_in_window"] / measure_s, 1),
        "persisted_per_s": round(rate(counts), 1),
        "persisted_per_s_ends": round((last.count - first.count) / wall, 1),
        "drain_s": round(drain_s, 1),
        "ack_p50_ms": harness.rounded(harness.percentile(ack_ms, 0.50)),
        "ack_p99_ms": harness.rounded(harness.percentile(ack_ms, 0.99)),
        "received_per_s": round(result["received_in_window"] / wall, 1),
        "frames_per_message": (
            round(result["received_in_window"] / result["acked_in_window"], 1)
            if result["acked_in_window"]
            else None
        ),
        "stalled_clients": result["stalled_clients"],
        "closed_clients": result["closed_clients"],
    }
    if command["phase"] == "latency":
        expected = result["expected_deliveries"]
        row.update(
            {
                "target_per_s": command["rate_per_s"],
                "latency_samples": len(delivery_ms),
                "p50_ms": harness.rounded(harness.percentile(delivery_ms, 0.50)),
                "p90_ms": harness.rounded(harness.percentile(delivery_ms, 0.90)),
                "p99_ms": harness.rounded(harness.percentile(delivery_ms, 0.99)),
                "max_ms": harness.rounded(delivery_ms[-1] if delivery_ms else None),
                # Of the deliveries due for messages sent in the window, those that came.
                "delivered_pct": round(100 * result["delivered"] / expected, 2)
                if expected
                else None,
                "late_sends": result["late_sends"],
            }
        )
    row.update(consumer_side(first, last))
    row.update(cpu_split(first, last, result["load_cpu_pct"]))
    row.update(load_gc_pauses=result["load_gc_pauses"], load_gc_max_ms=result["load_gc_max_ms"])
    return row


def run_mode(
    mode: str, args: argparse.Namespace, workdir: Path, services: dict[str, str] | None
) -> dict[str, Any]:
    began = harness.now()
    row: dict[str, Any] = {"mode": mode, "clients": args.clients}
    deployment: Deployment | None = None
    with contextlib.ExitStack() as stack:
        data_dir = workdir / mode
        data_dir.mkdir(parents=True)
        env = harness.environment(
            data_dir,
            CHAT_RADIUS=str(CHAT_RADIUS),
            METAVERSE_CHAT_RATE_PER_S=LIMIT,
            METAVERSE_CHAT_BURST=LIMIT,
            METAVERSE_FRAME_RATE_PER_S=LIMIT,
            METAVERSE_FRAME_BURST=LIMIT,
        )
        env.update(setting.split("=", 1) for setting in args.set)
        if mode == "single":
            url = f"sqlite+aiosqlite:///{data_dir / 'metaverse.db'}"
        else:
            assert services is not None
            waited = harness.now()
            # Held exclusively: a run floods the shared topics, and any other consumer
            # group reading them meanwhile would have to dead-letter every one of those
            # records.
            stack.enter_context(harness.services_held(exclusive=True))
            row["lock_wait_s"] = round(harness.now() - waited, 1)
            url = stack.enter_context(
                harness.postgres_database(services["METAVERSE_TEST_DATABASE_URL"], "bench_chat")
            )
            group = f"bench-chat-{uuid.uuid4().hex[:12]}"
            env.update(
                DATABASE_URL=url,
                REDIS_URL=services["METAVERSE_TEST_REDIS_URL"],
                KAFKA_BROKER=services["METAVERSE_TEST_KAFKA_BROKER"],
                METAVERSE_CONSUMER_GROUP=group,
            )
            start_at_log_end(services["METAVERSE_TEST_KAFKA_BROKER"], group)
        harness.migrate(env, workdir)
        from metaverse.settings import normalise_database_url

        database = Database(normalise_database_url(url))
        stack.callback(database.close)
        users, space_id = populate(database, env, args.clients)
        deployment = start_deployment(stack, mode, env, workdir)
        plan = {"urls": deployment.urls, "space_id": space_id, "users": users, "seed": args.seed}
        load = stack.enter_context(LoadProcess(plan))
        joined = harness.receive(load.pipe, JOIN_TIMEOUT_S + 30)
        if not joined["joined"]:
            raise RuntimeError(f"no client could join: {joined['join_errors']}")
        deployment.wait_consuming()
        for process in deployment.processes:
            process.settle()
        row.update(
            {
                "joined": joined["joined"],
                "join_errors": joined["join_errors"],
                "map_side_tiles": map_side(args.clients),
                "nearby_recipients": round(joined["nearby_recipients"], 2),
            }
        )
        if mode != "single" and args.broker_warmup > 0 and not args.broker_warm:
            # Kafka's JVM compiles its hot paths in the first minutes under load: a fresh
            # broker (a fresh machine's `make bench`, or one the tests restarted) took 25-29%
            # of a core for what a warm one does at 7-9%. Measured: a warm broker, as one
            # in service would be. Once per run: the later modes share the broker.
            print(f"{mode}: warming Kafka up ...", file=sys.stderr, flush=True)
            warming = {
                "phase": "throughput",
                "space_every": SPACE_EVERY,
                "warmup_s": args.broker_warmup,
                "measure_s": 1.0,
                "inflight": args.inflight,
                "rate_per_s": args.rate,
            }
            warmed = measure(deployment, load, database, space_id, warming)
            row["broker_warmup"] = {
                k: warmed[k] for k in ("persisted_per_s", "lost", "services_cpu_pct_by_name")
            }
            args.broker_warm = True
        windows = {"warmup_s": args.warmup, "measure_s": args.measure}
        for key, command in (
            ("throughput", {"phase": "throughput", "space_every": SPACE_EVERY}),
            ("throughput_nearby", {"phase": "throughput", "space_every": 0}),
            ("latency", {"phase": "latency", "space_every": SPACE_EVERY}),
        ):
            if key not in args.phases:
                continue
            print(f"{mode}: {key} ...", file=sys.stderr, flush=True)
            command.update(windows, inflight=args.inflight, rate_per_s=args.rate)
            row[key] = measure(deployment, load, database, space_id, command)
    # Once stopped: what they logged on the way out too.
    row["logs"] = {p.name: p.log_tail().splitlines() for p in deployment.processes}
    row["early_exits"] = {p.name: p.early_exit for p in deployment.processes if p.early_exit}
    row["mode_s"] = round(harness.now() - began, 1)
    return row


# The report.

Column = tuple[str, str, str]
CPU_COLUMNS: tuple[Column, ...] = (
    ("gw CPU %", "gateway_cpu_pct", "{:.0f}"),
    ("consumer %", "consumer_cpu_pct", "{:.0f}"),
    ("services %", "services_cpu_pct", "{:.0f}"),
    ("load %", "load_cpu_pct", "{:.0f}"),
    ("other %", "other_cpu_pct", "{:.0f}"),
)
PHASES = {
    "throughput": f"1 in {SPACE_EVERY} space",
    "throughput_nearby": "nearby only",
    "latency": f"1 in {SPACE_EVERY} space",
}
THROUGHPUT_COLUMNS: tuple[Column, ...] = (
    ("sent", "sent", "{}"),
    ("acked", "acked", "{}"),
    ("errors", "errors", "{}"),
    ("persisted", "persisted", "{}"),
    ("lost", "lost", "{}"),
    ("acked/s", "acked_per_s", "{:.0f}"),
    ("persisted/s", "persisted_per_s", "{:.0f}"),
    ("drain s", "drain_s", "{:.1f}"),
    ("ack p99 ms", "ack_p99_ms", "{:.0f}"),
    ("frames/msg", "frames_per_message", "{:.1f}"),
    *CPU_COLUMNS,
)
LATENCY_COLUMNS: tuple[Column, ...] = (
    ("msgs/s", "sent_per_s", "{:.0f}"),
    ("p50 ms", "p50_ms", "{:.1f}"),
    ("p99 ms", "p99_ms", "{:.1f}"),
    ("max ms", "max_ms", "{:.0f}"),
    ("ack p50", "ack_p50_ms", "{:.1f}"),
    ("ack p99", "ack_p99_ms", "{:.1f}"),
    ("delivered %", "delivered_pct", "{:.2f}"),
    ("persisted", "persisted", "{}"),
    ("lost", "lost", "{}"),
    *CPU_COLUMNS,
)


def table(
    rows: list[dict[str, Any]], phases: dict[str, str], columns: tuple[Column, ...]
) -> list[str]:
    """One line per mode and phase (`phases`: key -> what the load column says)."""
    cells = [["mode", "load", *(title for title, _, _ in columns)]]
    for row in rows:
        for phase, label in phases.items():
            if phase in row:
                values = row[phase]
                cells.append(
                    [
                        row["mode"],
                        label,
                        *(
                            "-" if values[key] is None else fmt.format(values[key])
                            for _, key, fmt in columns
                        ),
                    ]
                )
    return harness.aligned(cells, left=(0, 1)) if len(cells) > 1 else []


def notes(rows: list[dict[str, Any]]) -> list[str]:
    """What the tables leave out: failures, errors, closes, stalls, a load that lagged."""
    lines = []
    for row in rows:
        mode = row["mode"]
        if "error" in row:
            lines.append(f"{mode}: failed: {row['error']}")
        for name, code in row.get("early_exits", {}).items():
            lines.append(f"{mode}: {name} exited by itself during the run (code {code})")
        if "skipped" in row:
            lines.append(f"{mode}: skipped: {row['skipped']}")
        if warmup := row.get("broker_warmup"):
            lines.append(
                f"{mode}: Kafka warmed up first ({warmup['persisted_per_s']:.0f} persisted/s"
                f" at the end of it, {warmup['lost']} lost)"
            )
        for phase in PHASES:
            values = row.get(phase)
            if values is None:
                continue
            said = [
                f"{what}: {values[key]}"
                for key, what in (
                    ("error_codes", "chat-errors"),
                    ("unacked", "never acknowledged"),
                    ("stalled_clients", "clients stalled"),
                    ("closed_clients", "clients closed by the server"),
                    ("duplicates", "duplicate rows"),
                    ("dead_letters", "dead letters"),
                    ("late_sends", f"sends more than {LATE_SEND_MS:.0f} ms late (load lagging)"),
                )
                if values.get(key)
            ]
            if said:
                lines.append(f"{mode} {phase}: " + "; ".join(said))
    return lines


def tables(rows: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    throughput = {key: PHASES[key] for key in ("throughput", "throughput_nearby")}
    return [
        f"throughput: {args.clients} clients, {args.inflight} messages in flight each, "
        f"{args.measure:.0f} s window; goal: 10,000 persisted/s, none lost",
        *table(rows, throughput, THROUGHPUT_COLUMNS),
        "",
        f"latency at {args.rate} msgs/s, send to receive over every delivery; "
        "goal: p99 under 50 ms",
        *table(rows, {"latency": PHASES["latency"]}, LATENCY_COLUMNS),
        *notes(rows),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 clients, 3 s windows")
    parser.add_argument("--modes", help=f"comma-separated, of {','.join(MODES)}")
    parser.add_argument("--phases", default=",".join(PHASES), help="which measurements")
    parser.add_argument("--clients", type=int, help="clients in the space (default 100)")
    parser.add_argument(
        "--inflight", type=int, default=MAX_IN_FLIGHT, help="per client, throughput"
    )
    parser.add_argument("--rate", type=int, default=1000, help="msgs/s for latency")
    parser.add_argument("--warmup", type=float, help="seconds before each window")
    parser.add_argument("--measure", type=float, help="seconds measured")
    parser.add_argument(
        "--broker-warmup",
        type=float,
        help="seconds of load before the first service mode's measurements (default 60)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a platform setting for every process, e.g. METAVERSE_CONSUMER_BATCH_SIZE=2000",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    modes = (args.modes or ("single,service" if args.quick else ",".join(MODES))).split(",")
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    args.phases = args.phases.split(",")
    if malformed := [setting for setting in args.set if "=" not in setting]:
        parser.error(f"--set takes NAME=VALUE, not {', '.join(malformed)}")
    if unknown := set(args.phases) - set(PHASES):
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    args.clients = args.clients or (20 if args.quick else 100)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    args.measure = args.measure if args.measure is not None else (3.0 if args.quick else 10.0)
    if args.broker_warmup is None:
        args.broker_warmup = 0.0 if args.quick else 60.0
    args.broker_warm = False

    busy_before = harness.machine_busy_pct()
    if busy_before > 25:
        print(
            f"warning: the machine is already busy ({busy_before:.0f}% of a core): "
            "expect the numbers to suffer",
            file=sys.stderr,
        )
    services = service_urls()
    began = harness.now()
    workdir = Path(tempfile.mkdtemp(prefix="metaverse-bench-chat-"))
    rows: list[dict[str, Any]] = []
    try:
        for mode in modes:
            if mode != "single" and services is None:
                reason = f"set {', '.join(SERVICE_VARIABLES)} (`set -a; . .services/env`)"
                rows.append({"mode": mode, "skipped": reason})
                continue
            print(f"{mode} ...", file=sys.stderr, flush=True)
            try:
                rows.append(run_mode(mode, args, workdir, services))
            except Exception as error:  # recorded: the other modes still run
                rows.append({"mode": mode, "error": f"{type(error).__name__}: {error}"})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = harness.now() - began
    print("\n".join(tables(rows, args)))
    print(f"({elapsed:.0f} s in all; details in {args.output})")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    results = {
        "benchmark": "chat",
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "settings": {
            "clients": args.clients,
            "map_side_tiles": map_side(args.clients),
            "chat_radius_tiles": CHAT_RADIUS,
            "space_every": SPACE_EVERY,
            "inflight_per_client": args.inflight,
            "latency_rate_per_s": args.rate,
            "warmup_s": args.warmup,
            "measure_s": args.measure,
            "broker_warmup_s": args.broker_warmup,
            "quick": args.quick,
            "platform_settings": args.set,
        },
        "busy_before_pct": round(busy_before, 1),
        "elapsed_s": round(elapsed, 1),
        "rows": rows,
    }
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if any("error" in row for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
