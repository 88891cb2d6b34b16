"""The realtime gateway under load: simulated clients in one space of a real gateway process.

For each scenario a fresh `metaverse gateway` process is started on loopback, over a SQLite
database prepared in a temporary directory (users, one 200 x 200 space per crowd size with
spawn areas spread over it in clusters, access tokens minted with the same JWT secret). A
separate load process opens N WebSocket clients, joins them, and makes each step one cell
every 200 ms (5 moves a second) around a loop of about 40-64 cells near where it spawned.

Two modes: `plain` (the original protocol: every move goes to everyone) and
`interest+batch` (each client asks for `interest` and `batch` and sets a 40 x 24 viewport
around its loop right after joining).

Reported over a measured window after a warm-up:

- moves/s: moves the gateway handled (its `frames_in{type="move"}` minus rejected moves);
- frames out/s: frames it queued for clients (`frames_out`, batched frames counted singly);
- p50/p99: from a move being sent to its `movement` (or `interest-enter`) reaching an
  observer in the same load process, over sampled observers;
- gateway CPU % (of one core) and RSS growth per joined connection, read from /proc;
- slow closes: connections the gateway closed with 1013 because their outbox overflowed.

    python benchmarks/bench_gateway.py                  # 100, 500, 1000 clients, both modes
    python benchmarks/bench_gateway.py --quick          # 50 and 100 clients, 3 s windows
    python benchmarks/bench_gateway.py --clients 100,500

Prints a table and writes benchmarks/results/gateway.json.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import math
import multiprocessing
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

if TYPE_CHECKING:  # mypy names modules from the repository's root
    from benchmarks import harness
else:  # a script runs with benchmarks/ first on sys.path
    import harness

RESULTS = Path(__file__).parent / "results" / "gateway.json"
MAP_SIDE = 200
CLUSTER_USERS = 25  # about this many people spawn in each cluster
CLUSTER_SIDE = 12  # tiles; one spawn area per cluster
VIEWPORT = (40, 24)
MOVE_PERIOD_S = 0.2
OUTBOX_FRAMES = 4096
MAX_SAMPLES = 300_000  # latency samples kept per load process, roughly
JOIN_CONCURRENCY = 50
JOIN_TIMEOUT_S = 120.0
SCRAPE_LATE_S = 1.0  # a gateway that takes longer to answer /metrics is swamped
GRACE_S = 2.0  # after the last move, to collect late deliveries
# How frames look as the gateway encodes them (compact JSON, "type" first).
FRAME_START = b'{"type":'
BATCH_START = b'{"type":"batch"'
REJECTED = b'"movement-rejected"'
MODES: dict[str, list[str]] = {"plain": [], "interest+batch": ["interest", "batch"]}


# The load process: bots that walk and watch.


class Bot:
    """One simulated client: walks a rectangle loop and reads every frame it gets."""

    def __init__(
        self, user_id: str, token: str, url: str, sampled: bool, rng: random.Random
    ) -> None:
        self.user_id = user_id
        self.token = token
        self.url = url  # the gateway it connects to
        self.sampled = sampled
        self.rng = rng
        self.ws: harness.TextConnection | None = None
        self.x = self.y = 0
        self.legs: list[tuple[int, int, int]] = []
        self.leg = self.left = 0
        self.moves = self.moves_in_window = self.rejected = self.frames = 0
        self.close_code: int | None = None  # the server's, when it closed us mid-run
        self.joined: asyncio.Future[list[dict[str, Any]]] | None = None  # the first frames
        self.joined_at = 0.0  # when the first message (`space-joined`) was read
        # Sampled observers: the send time of the last move matched, per mover.
        self.matched: dict[str, float] = {}

    def plan_loop(self, x: int, y: int) -> dict[str, int]:
        """Lay out the loop from the spawn cell; return a viewport centred on it."""
        self.x, self.y = x, y
        width, height = self.rng.randint(12, 20), self.rng.randint(8, 12)
        sx = 1 if x + width < MAP_SIDE else -1
        sy = 1 if y + height < MAP_SIDE else -1
        self.legs = [(sx, 0, width), (0, sy, height), (-sx, 0, width), (0, -sy, height)]
        self.left = width
        cx, cy = x + sx * width // 2, y + sy * height // 2
        vw, vh = VIEWPORT
        return {
            "x": min(max(0, cx - vw // 2), MAP_SIDE - vw),
            "y": min(max(0, cy - vh // 2), MAP_SIDE - vh),
            "width": vw,
            "height": vh,
        }

    def step(self) -> tuple[int, int]:
        dx, dy, _ = self.legs[self.leg]
        x, y = self.x + dx, self.y + dy
        if not (0 <= x < MAP_SIDE and 0 <= y < MAP_SIDE):
            # Only after a rejected move put us somewhere else: turn back.
            x, y = self.x - dx, self.y - dy
        self.left -= 1
        if self.left == 0:
            self.leg = (self.leg + 1) % 4
            self.left = self.legs[self.leg][2]
        self.x, self.y = x, y
        return x, y


class Load:
    """The bots of one load process and what they measured."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        rng = random.Random(plan["seed"])
        self.bots = [
            Bot(
                user_id,
                token,
                self.url(n),
                n % plan["sample_every"] == 0,
                random.Random(rng.random()),
            )
            for n, (user_id, token) in enumerate(plan["users"])
        ]
        # When each of our bots sent each step: (userId, x, y) -> perf_counter seconds, in
        # order. A loop is 40-64 cells long, so a cell comes round again after 8 s or more;
        # an observer gets one mover's frames in order, so the first send later than the
        # one it matched last is the one.
        self.sent: dict[tuple[str, int, int], list[float]] = {}
        self.latencies_ms: list[float] = []
        self.window = (math.inf, math.inf)
        self.received_in_window = 0
        self.stopping = False
        self.join_errors: Counter[str] = Counter()
        self.readers: list[asyncio.Task[None]] = []

    def url(self, n: int) -> str:
        """Where the `n`-th bot connects."""
        url: str = self.plan["url"]
        return url

    async def join_all(self) -> None:
        gate = asyncio.Semaphore(JOIN_CONCURRENCY)
        await asyncio.gather(*(self.join(bot, gate) for bot in self.bots))

    async def join(self, bot: Bot, gate: asyncio.Semaphore) -> None:
        async with gate:
            ws = await self.connect(bot)
            if ws is not None:
                await self.enter(bot, ws)

    async def connect(self, bot: Bot) -> harness.TextConnection | None:
        """Open `bot`'s connection, its frames going to `received`; None if it failed."""
        try:
            ws = await connect(
                bot.url,
                compression=None,
                ping_interval=None,
                close_timeout=1,
                max_size=2**22,
                open_timeout=JOIN_TIMEOUT_S,
                create_connection=harness.TextConnection,
            )
        except (OSError, InvalidStatus, TimeoutError) as error:
            self.join_errors[type(error).__name__] += 1
            return None
        assert isinstance(ws, harness.TextConnection)
        bot.joined = asyncio.get_running_loop().create_future()
        ws.on_text = lambda data, now: self.received(bot, data, now)
        return ws

    async def enter(self, bot: Bot, ws: harness.TextConnection) -> None:
        """Join the space on `ws`, then set the viewport (with `interest`)."""
        assert bot.joined is not None
        payload: dict[str, Any] = {"spaceId": self.plan["space_id"], "token": bot.token}
        payload["capabilities"] = self.plan["capabilities"]
        try:
            await ws.send(json.dumps({"type": "join", "payload": payload}))
            async with asyncio.timeout(JOIN_TIMEOUT_S):
                frames = await bot.joined
            first = frames[0]
            if first["type"] != "space-joined":
                self.join_errors[first["payload"].get("code", first["type"])] += 1
                await ws.close()
                return
            viewport = bot.plan_loop(first["payload"]["spawn"]["x"], first["payload"]["spawn"]["y"])
            if "interest" in self.plan["capabilities"]:
                await ws.send(json.dumps({"type": "viewport", "payload": viewport}))
        except TimeoutError:
            self.join_errors["timeout"] += 1
            await ws.close()
            return
        except ConnectionClosed as closed:
            # The server closed it while it joined: say how.
            received = closed.rcvd
            self.join_errors[f"closed {received.code if received else 1006}"] += 1
            return
        bot.ws = ws
        self.readers.append(asyncio.create_task(self.watch(bot)))

    def received(self, bot: Bot, data: bytes, now: float) -> None:
        """One message for `bot`, read at `now` (called as its frame is parsed)."""
        if bot.joined is not None and not bot.joined.done():
            # The first message: `space-joined` (with `batch`, maybe with frames after it).
            frames = unpack(json.loads(data))
            bot.joined_at = now
            bot.joined.set_result(frames)
            self.take(bot, frames[1:], now)
        elif bot.sampled or REJECTED in data:
            self.take(bot, unpack(json.loads(data)), now)
        else:
            # Unsampled and nothing to act on: count without parsing, to keep the load
            # process light. Payloads hold no strings that could look like this.
            self.count(bot, data.count(FRAME_START) - data.startswith(BATCH_START), now)

    async def watch(self, bot: Bot) -> None:
        """Note when the server closes `bot` during the run."""
        assert bot.ws is not None
        await bot.ws.wait_closed()
        if not self.stopping:
            bot.close_code = bot.ws.close_code

    def count(self, bot: Bot, frames: int, now: float) -> None:
        bot.frames += frames
        if self.window[0] <= now <= self.window[1]:
            self.received_in_window += frames

    def take(self, bot: Bot, frames: list[dict[str, Any]], now: float) -> None:
        """Count frames received at `now`; time the moves of our own bots among them."""
        self.count(bot, len(frames), now)
        for frame in frames:
            kind = frame["type"]
            if kind == "movement" or kind == "interest-enter":
                if bot.sampled:
                    self.record_latency(bot, frame["payload"], now)
            elif kind == "movement-rejected":
                bot.rejected += 1
                bot.x, bot.y = frame["payload"]["x"], frame["payload"]["y"]

    def record_latency(self, bot: Bot, payload: dict[str, Any], now: float) -> None:
        at = self.sent_at(bot, payload)
        if at is not None and self.window[0] <= at <= self.window[1]:
            self.latencies_ms.append((now - at) * 1000)

    def sent_at(self, bot: Bot, payload: dict[str, Any]) -> float | None:
        """When the move that `bot` sees in `payload` was sent; None if not one of ours."""
        mover = payload["userId"]
        times = self.sent.get((mover, payload["x"], payload["y"]), ())
        last = bot.matched.get(mover, 0.0)
        at = next((t for t in times if t > last), None)
        if at is not None:
            bot.matched[mover] = at
        return at

    async def walk(self, bots: list[Bot], start: float, end: float) -> None:
        """Every bot steps once per MOVE_PERIOD_S, at its own phase, until `end`.

        One task for all of them, sleeping until the next step is due: a task per bot
        would wake 5,000 times a second at 1,000 clients.
        """
        due = [(start + bot.rng.random() * MOVE_PERIOD_S, n) for n, bot in enumerate(bots)]
        heapq.heapify(due)
        while due and due[0][0] < end:
            await asyncio.sleep(max(0.0, due[0][0] - time.perf_counter()))
            now = time.perf_counter()
            while due and due[0][0] <= now:
                at_due, n = heapq.heappop(due)
                bot = bots[n]
                if bot.close_code is not None or bot.ws is None:
                    continue
                x, y = bot.step()
                at = time.perf_counter()
                self.sent.setdefault((bot.user_id, x, y), []).append(at)
                if self.window[0] <= at:
                    bot.moves_in_window += 1
                frame = f'{{"type":"move","payload":{{"x":{x},"y":{y}}}}}'
                if not bot.ws.send_now(frame):
                    try:
                        await bot.ws.send(frame)
                    except ConnectionClosed:
                        continue
                bot.moves += 1
                # A client that fell behind doesn't catch up with a burst: it walks on.
                following = max(at_due + MOVE_PERIOD_S, time.perf_counter())
                if following < end:
                    heapq.heappush(due, (following, n))

    async def run(self, pipe: Pipe) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        await self.join_all()
        joined = [bot for bot in self.bots if bot.ws is not None]
        pipe.send({"joined": len(joined), "join_errors": dict(self.join_errors)})
        await loop.run_in_executor(None, pipe.recv)  # "go"
        start = time.perf_counter()
        warmup_s, measure_s = self.plan["warmup_s"], self.plan["measure_s"]
        self.window = (start + warmup_s, start + warmup_s + measure_s)
        cpu_before = time.process_time()
        walker = asyncio.create_task(self.walk(joined, start, self.window[1]))
        await asyncio.sleep(max(0.0, self.window[0] - time.perf_counter()))
        cpu_at_window = time.process_time()
        await walker
        moves_in_window = sum(bot.moves_in_window for bot in joined)
        # Everyone sees every move without interest: what the sampled observers should get.
        expected = sum(moves_in_window - bot.moves_in_window for bot in joined if bot.sampled)
        cpu_in_window = time.process_time() - cpu_at_window
        await asyncio.sleep(GRACE_S)
        early = sum(bot.close_code is not None for bot in joined)
        closes = await self.close(joined)
        return {
            "joined": len(joined),
            "moves_sent": sum(bot.moves for bot in joined),
            "moves_sent_in_window": moves_in_window,
            "expected_samples": expected,
            "rejected": sum(bot.rejected for bot in joined),
            "received_in_window": self.received_in_window,
            "frames_received": sum(bot.frames for bot in joined),
            "closes": closes,
            "closed_during_run": early,
            "cpu_s_in_window": cpu_in_window,
            "cpu_s_total": time.process_time() - cpu_before,
            "latencies_ms": self.latencies_ms,
        }

    async def close(self, joined: list[Bot]) -> dict[str, int]:
        """Close every connection; the codes the server closed any with, and how many."""
        self.stopping = True
        try:
            async with asyncio.timeout(10):
                await asyncio.gather(*(bot.ws.close() for bot in joined if bot.ws is not None))
        except TimeoutError:
            pass
        # Codes the server closed with, also those that came after the run (a swamped
        # gateway sends its 1013s late); 1006: cut without a close frame.
        closes: Counter[str] = Counter()
        for bot in joined:
            assert bot.ws is not None
            received = bot.ws.protocol.close_rcvd
            code = received.code if received is not None else bot.close_code
            if code is not None and code != 1000:
                closes[str(code)] += 1
        for task in self.readers:
            task.cancel()
        return dict(closes)


def unpack(frame: dict[str, Any]) -> list[dict[str, Any]]:
    if frame["type"] == "batch":
        messages: list[dict[str, Any]] = frame["payload"]["messages"]
        return messages
    return [frame]


def load_process(plan: dict[str, Any], pipe: Pipe) -> None:
    """Entry point of a load process (spawned, so it starts without the parent's state)."""
    try:
        with harness.load_collector() as pauses:
            result = asyncio.run(Load(plan).run(pipe))
        pipe.send(result | pauses.summary())
    except BaseException as error:
        pipe.send({"error": repr(error)})
        raise


# Preparing the database.


def environment(data_dir: Path) -> dict[str, str]:
    return harness.environment(data_dir, METAVERSE_OUTBOX_FRAMES=str(OUTBOX_FRAMES))


def cluster_areas(users: int) -> list[tuple[int, int]]:
    """Top-left corners of spawn areas on a grid over the map, about one per 25 users."""
    clusters = max(1, math.ceil(users / CLUSTER_USERS))
    columns = math.ceil(math.sqrt(clusters))
    rows = math.ceil(clusters / columns)
    pitch_x, pitch_y = MAP_SIDE / columns, MAP_SIDE / rows
    corners = []
    for n in range(clusters):
        cx = (n % columns + 0.5) * pitch_x
        cy = (n // columns + 0.5) * pitch_y
        corners.append((int(cx - CLUSTER_SIDE / 2), int(cy - CLUSTER_SIDE / 2)))
    return corners


async def populate(
    data_dir: Path, users: int, crowds: list[int], database_url: str | None = None
) -> tuple[list[tuple[str, str]], list[str]]:
    """Insert the users and one space per crowd size (in the data directory's SQLite
    database unless `database_url`); return (user id, token)s and the spaces' ids."""
    from metaverse.api.context import ApiContext
    from metaverse.clock import SystemClock
    from metaverse.db.models import Space, SpaceArea, SpaceMember, User
    from metaverse.settings import Settings

    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        jwt_secret=harness.JWT_SECRET,
        seed_demo=False,
        access_token_ttl_s=6 * 3600,  # however long the run takes
        _env_file=None,
    )
    context = ApiContext.build(settings, SystemClock())
    try:
        async with context.sessions() as session:
            rows = [
                User(username=f"bench{i}", password_hash=harness.NO_PASSWORD) for i in range(users)
            ]
            session.add_all(rows)
            await session.flush()
            spaces: list[str] = []
            for crowd in crowds:
                space = Space(
                    name=f"bench {crowd}",
                    owner_id=rows[0].id,
                    width=MAP_SIDE,
                    height=MAP_SIDE,
                    visibility="public",
                )
                session.add(space)
                await session.flush()
                session.add(SpaceMember(space_id=space.id, user_id=rows[0].id, role="owner"))
                for n, (x, y) in enumerate(cluster_areas(crowd)):
                    area = SpaceArea(
                        space_id=space.id,
                        name=f"spawn {n}",
                        x=x,
                        y=y,
                        width=CLUSTER_SIDE,
                        height=CLUSTER_SIDE,
                        kind="spawn",
                    )
                    session.add(area)
                spaces.append(space.id)
            await session.commit()
            ids = [row.id for row in rows]
        tokens = context.accounts.access_tokens
        return [(user_id, tokens.issue(user_id, "user")) for user_id in ids], spaces
    finally:
        await context.close()


# One scenario, and the whole run.


def sample_every(clients: int, mode: str, measure_s: float, procs: int) -> int:
    """Observe latency on every k-th client, so as to keep about MAX_SAMPLES per process."""
    fan_out = clients - 1 if mode == "plain" else min(clients - 1, 100)
    expected = clients / procs * fan_out * measure_s / MOVE_PERIOD_S
    return max(1, math.ceil(expected / MAX_SAMPLES))


class Probe:
    """Gateway and machine CPU read at one instant, plus a scrape that may answer late.

    A swamped gateway can take many seconds to answer /metrics: the scrape runs in a
    thread so that the window stays where it should, and says when it was answered.
    """

    def __init__(self, pid: int, port: int, pool: ThreadPoolExecutor) -> None:
        self.at = harness.now()
        self.cpu_s = harness.cpu_seconds(pid)
        self.machine = harness.machine_cpu()
        self._scrape: Future[tuple[dict[str, float] | None, float]] = pool.submit(
            lambda: (harness.scrape(port), harness.now())
        )

    def metrics(self) -> tuple[dict[str, float] | None, float]:
        """The counters, and how many seconds late they were answered."""
        values, answered = self._scrape.result()
        return values, answered - self.at


def run_scenario(
    env: dict[str, str],
    workdir: Path,
    users: list[tuple[str, str]],
    space_id: str,
    mode: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    began = harness.now()
    every = sample_every(len(users), mode, args.measure, args.procs)
    context = multiprocessing.get_context("spawn")
    with harness.RoleProcess("gateway", env, workdir) as gateway, ThreadPoolExecutor(2) as pool:
        rss_idle = harness.rss_kib(gateway.pid)
        pipes: list[Pipe] = []
        workers = []
        try:
            for n in range(args.procs):
                ours, theirs = context.Pipe()
                plan = {
                    "url": f"ws://127.0.0.1:{gateway.port}/ws",
                    "space_id": space_id,
                    "capabilities": MODES[mode],
                    "users": users[n :: args.procs],
                    "sample_every": every,
                    "warmup_s": args.warmup,
                    "measure_s": args.measure,
                    "seed": args.seed * 1000 + n,
                }
                worker = context.Process(target=load_process, args=(plan, theirs), daemon=True)
                worker.start()
                pipes.append(ours)
                workers.append(worker)
            joins = [harness.receive(pipe, JOIN_TIMEOUT_S) for pipe in pipes]
            join_s = harness.now() - began
            if not any(j["joined"] for j in joins):
                raise RuntimeError(f"no client could join: {[j['join_errors'] for j in joins]}")
            gateway.settle()
            rss_joined = harness.rss_kib(gateway.pid)
            ready = harness.scrape(gateway.port)
            for pipe in pipes:
                pipe.send("go")
            time.sleep(args.warmup)
            first = Probe(gateway.pid, gateway.port, pool)
            time.sleep(max(0.0, args.measure - (harness.now() - first.at)))
            last = Probe(gateway.pid, gateway.port, pool)
            rss_end = harness.rss_kib(gateway.pid)
            done = [harness.receive(pipe, args.measure + GRACE_S + 60) for pipe in pipes]
        finally:
            for worker in workers:
                worker.join(5)
                if worker.is_alive():
                    worker.kill()
        before, before_late_s = first.metrics()
        after, after_late_s = last.metrics()
        end = harness.scrape(gateway.port)
    log = gateway.log_tail()  # once it stopped: what it logged on the way out too
    joined = sum(j["joined"] for j in joins)
    row: dict[str, Any] = {
        "clients": len(users),
        "mode": mode,
        "joined": joined,
        "join_errors": [j["join_errors"] for j in joins if j["join_errors"]],
        "join_s": round(join_s, 1),
        "window_s": round(last.at - first.at, 3),
        "target_moves_per_s": round(joined / MOVE_PERIOD_S, 1),
    }
    row.update(gateway_side(first, last, before, after, max(before_late_s, after_late_s)))
    row.update(whole_run(ready, end, done))
    row.update(load_side(mode, every, done, last.at - first.at, args.measure))
    wall = last.at - first.at
    gateway_cpu_s = last.cpu_s - first.cpu_s
    load_cpu_s = sum(r["cpu_s_in_window"] for r in done)
    busy, steal, _ = (a - b for a, b in zip(last.machine, first.machine, strict=True))
    row.update(
        {
            "gateway_cpu_pct": round(100 * gateway_cpu_s / wall, 1),
            "load_cpu_pct": round(100 * load_cpu_s / args.measure, 1),
            "load_processes": args.procs,
            # The load's own collector pauses (the longest of any load process, whole run).
            "load_gc_pauses": sum(r["load_gc_pauses"] for r in done),
            "load_gc_max_ms": max(r["load_gc_max_ms"] for r in done),
            # What else ran meanwhile, in % of one core (other processes; time stolen by
            # the hypervisor): the gateway and the load share the machine's cores with it.
            "other_cpu_pct": round(100 * max(0.0, busy - gateway_cpu_s - load_cpu_s) / wall, 1),
            "steal_pct": round(100 * steal / wall, 1),
            "rss_idle_kib": rss_idle,
            "rss_joined_kib": rss_joined,
            "rss_end_kib": rss_end,
            "kib_per_connection": round((rss_joined - rss_idle) / max(1, joined), 1),
            "scenario_s": round(harness.now() - began, 1),
            "gateway_log": log.splitlines(),
        }
    )
    return row


def gateway_side(
    first: Probe,
    last: Probe,
    before: dict[str, float] | None,
    after: dict[str, float] | None,
    late_s: float,
) -> dict[str, Any]:
    """Rates from the gateway's counters over the window, if it answered in time."""
    swamped = before is None or after is None or late_s > SCRAPE_LATE_S
    moves = harness.delta(before, after, 'metaverse_gateway_frames_in_total{type="move"}')
    rejected = harness.delta(before, after, "metaverse_gateway_rejected_moves_total")
    frames_out = harness.delta(before, after, "metaverse_gateway_frames_out_total")
    wall = last.at - first.at
    handled = None if moves is None else moves - (rejected or 0)
    return {
        # Late counters would describe some other stretch of time than the window.
        "swamped": swamped,
        "metrics_late_s": round(late_s, 1),
        "moves_per_s": None if swamped else harness.per_s(handled, wall),
        "rejected_moves": rejected,
        "frames_out_per_s": None if swamped else harness.per_s(frames_out, wall),
        # How many people see a move, on average: what the layout costs per move.
        "frames_per_move": (
            round(frames_out / moves, 1) if frames_out is not None and moves else None
        ),
    }


def whole_run(
    ready: dict[str, float] | None, end: dict[str, float] | None, done: list[dict[str, Any]]
) -> dict[str, Any]:
    """From "go" to the end, whatever happened: what was sent, handled and closed."""
    sent = sum(r["moves_sent"] for r in done)
    handled = harness.delta(ready, end, 'metaverse_gateway_frames_in_total{type="move"}')
    closes: Counter[str] = Counter()
    for result in done:
        closes.update(result["closes"])
    return {
        "moves_sent": sent,
        "moves_handled": handled,
        "slow_closes": harness.delta({}, end, 'metaverse_gateway_closed_total{reason="slow"}'),
        "client_close_codes": dict(closes),
        "closed_during_run": sum(r["closed_during_run"] for r in done),
    }


def load_side(
    mode: str, every: int, done: list[dict[str, Any]], wall: float, measure_s: float
) -> dict[str, Any]:
    latencies = sorted(x for result in done for x in result["latencies_ms"])
    expected = sum(r["expected_samples"] for r in done)
    return {
        "moves_sent_per_s": round(sum(r["moves_sent_in_window"] for r in done) / measure_s, 1),
        "frames_received_per_s": round(sum(r["received_in_window"] for r in done) / wall, 1),
        "latency_samples": len(latencies),
        "sampled_every": every,
        # Without interest, the share of the measured moves that reached the sampled
        # observers by the end of the grace period; a low share means the latencies
        # shown are those of the lucky few.
        "delivered_pct": (
            round(100 * len(latencies) / expected, 1) if mode == "plain" and expected else None
        ),
        "p50_ms": harness.rounded(harness.percentile(latencies, 0.50)),
        "p90_ms": harness.rounded(harness.percentile(latencies, 0.90)),
        "p99_ms": harness.rounded(harness.percentile(latencies, 0.99)),
        "max_ms": harness.rounded(latencies[-1] if latencies else None),
    }


COLUMNS = (
    ("clients", "clients", "{}"),
    ("mode", "mode", "{}"),
    ("moves/s", "moves_per_s", "{:.0f}"),
    ("frames out/s", "frames_out_per_s", "{:.0f}"),
    ("p50 ms", "p50_ms", "{:.1f}"),
    ("p99 ms", "p99_ms", "{:.1f}"),
    ("delivered %", "delivered_pct", "{:.0f}"),
    ("gw CPU %", "gateway_cpu_pct", "{:.0f}"),
    ("KiB/conn", "kib_per_connection", "{:.1f}"),
    ("slow closes", "slow_closes", "{:.0f}"),
    ("load CPU %", "load_cpu_pct", "{:.0f}"),
    ("other CPU %", "other_cpu_pct", "{:.0f}"),
)


def table(rows: list[dict[str, Any]]) -> str:
    cells = [[title for title, _, _ in COLUMNS]]
    notes = []
    for row in rows:
        name = f"{row['clients']} {row['mode']}"
        if "error" in row:
            notes.append(f"{name}: failed: {row['error']}")
            continue
        cells.append(["-" if row[key] is None else fmt.format(row[key]) for _, key, fmt in COLUMNS])
        if row["swamped"]:
            notes.append(
                f"{name}: swamped: /metrics answered {row['metrics_late_s']:.0f} s late, so no "
                f"rates over the window; it handled {row['moves_handled'] or 0:.0f} of the "
                f"{row['moves_sent']} moves sent, and closed {row['slow_closes'] or 0:.0f} "
                "clients as too slow (1013)"
            )
    return "\n".join(harness.aligned(cells, left=(1,)) + notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 and 100 clients, 3 s windows")
    parser.add_argument("--clients", help="comma-separated crowd sizes (default 100,500,1000)")
    parser.add_argument("--modes", default=",".join(MODES), help="plain,interest+batch")
    parser.add_argument("--warmup", type=float, help="seconds of moving before measuring")
    parser.add_argument("--measure", type=float, help="seconds measured")
    parser.add_argument("--procs", type=int, default=1, help="load processes (default 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    crowds = [
        int(n) for n in (args.clients or ("50,100" if args.quick else "100,500,1000")).split(",")
    ]
    modes = args.modes.split(",")
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    args.measure = args.measure if args.measure is not None else (3.0 if args.quick else 10.0)

    busy_before = harness.machine_busy_pct()
    if busy_before > 25:
        print(
            f"warning: the machine is already busy ({busy_before:.0f}% of a core): "
            "expect the numbers to suffer",
            file=sys.stderr,
        )
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="metaverse-bench-"))
    rows: list[dict[str, Any]] = []
    try:
        env = environment(workdir / "data")
        harness.migrate(env, workdir)
        users, ids = asyncio.run(populate(workdir / "data", max(crowds), crowds))
        spaces = dict(zip(crowds, ids, strict=True))
        for crowd in crowds:
            for mode in modes:
                print(f"{crowd} clients, {mode} ...", file=sys.stderr, flush=True)
                try:
                    row = run_scenario(env, workdir, users[:crowd], spaces[crowd], mode, args)
                except (RuntimeError, TimeoutError, OSError) as error:
                    row = {"clients": crowd, "mode": mode, "error": str(error)}
                rows.append(row)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - began
    print(table(rows))
    print(f"({elapsed:.0f} s in all; details in {args.output})")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "gateway",
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "settings": {
            "map_side_tiles": MAP_SIDE,
            "viewport_tiles": list(VIEWPORT),
            "move_period_s": MOVE_PERIOD_S,
            "outbox_frames": OUTBOX_FRAMES,
            "warmup_s": args.warmup,
            "measure_s": args.measure,
            "load_processes": args.procs,
            "quick": args.quick,
        },
        "busy_before_pct": round(busy_before, 1),
        "elapsed_s": round(elapsed, 1),
        "rows": rows,
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if any("error" in row for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
