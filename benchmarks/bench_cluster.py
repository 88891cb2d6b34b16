"""Several gateways sharing one space: `metaverse gateway` processes on the real PostgreSQL
and Redis, each scenario on fresh gateways and a space of its own, under the same load as
bench_gateway.py (its clients, walking at 5 Hz with `interest` and `batch`).

The host of a space is the gateway its first user reaches: the load joins its first
client, on the first gateway, alone, before the others; the bench checks that the first
gateway hosts the space (its `metaverse_gateway_space_users` gauge) and fails otherwise.

- walk: 500 clients on one gateway; split 50/50 over two; split 10/90 (10% on the
  host). Move→observer latency p50/p99 for observers on the mover's gateway and on the
  other one, and each gateway's CPU time per move handled (from /proc/<pid>/stat);
- failover: 200 walking users over three gateways; the load SIGKILLs the host, and times
  until an observer on a surviving gateway sees a move sent after the kill by a user on the
  other surviving gateway. At the default lease TTL (3 s), and at 1 s;
- joins: 1,000 users joining one space (connections open first; the first join alone,
  then all the others at once): from the first join sent to the last `space-joined` read,
  on one, two and three gateways.

    python benchmarks/bench_cluster.py                  # everything, about 5 minutes
    python benchmarks/bench_cluster.py --quick          # fewer clients, one failover trial
    python benchmarks/bench_cluster.py --parts walk,joins

Needs METAVERSE_TEST_DATABASE_URL and METAVERSE_TEST_REDIS_URL (`set -a; . .services/env;
set +a`); skipped without them. Holds the integration tests' services lock shared while a
scenario runs (no test restarts a service under it). Prints three tables and writes
benchmarks/results/cluster.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # mypy names modules from the repository's root
    from benchmarks import bench_gateway, harness
else:  # a script runs with benchmarks/ first on sys.path
    import bench_gateway
    import harness

RESULTS = Path(__file__).parent / "results" / "cluster.json"
PARTS = ("walk", "failover", "joins")
SERVICE_VARIABLES = ("METAVERSE_TEST_DATABASE_URL", "METAVERSE_TEST_REDIS_URL")
CAPABILITIES = bench_gateway.MODES["interest+batch"]
# name: each gateway's share of the clients; the first gateway hosts.
SPLITS: dict[str, tuple[float, ...]] = {
    "1 gateway": (1.0,),
    "2 gateways 50/50": (0.5, 0.5),
    "2 gateways 10/90": (0.1, 0.9),
}
FAILOVER_GATEWAYS = 3
FAILOVER_WARMUP_S = 3.0  # walking before the kill
FAILOVER_WAIT_S = 15.0  # at most, after the kill, for a move to come through again
FAILOVER_AFTER_S = 3.0  # after that, for the other survivors' moves to be seen again
FAILOVER_SAMPLE_EVERY = 2  # observers: one bot in two
DEFAULT_TTL_S = 3.0  # METAVERSE_LEASE_TTL_S's default
SHORT_TTL_S = 1.0
USERS_GAUGE = "metaverse_gateway_space_users"


# The load process: bench_gateway's bots, spread over gateways.


class ClusterLoad(bench_gateway.Load):
    """bench_gateway's load with each bot on the gateway `plan["gateways"]` names: latency by
    (mover's gateway, observer's gateway), a host killed mid-walk, or joins timed."""

    def __init__(self, plan: dict[str, Any]) -> None:
        super().__init__(plan)
        self.gateway_of = {
            user_id: gateway
            for (user_id, _), gateway in zip(plan["users"], plan["gateways"], strict=True)
        }
        self.routes: defaultdict[str, list[float]] = defaultdict(list)
        # Failover: when the host was killed, and what came after.
        self.killed_at: float | None = None
        self.recovered: tuple[float, str] | None = None  # read at, by route
        self.rejoined_at: float | None = None  # the first `space-joined` from a new host
        self.seen_again: dict[str, float] = {}  # mover: first move after the kill seen
        self.survivors: set[str] = set()  # the users on the other gateways
        self.came_through = asyncio.Event()  # a move crossed survivors after the kill
        self.everyone_seen = asyncio.Event()  # every survivor's moves were seen again

    def url(self, n: int) -> str:
        url: str = self.plan["urls"][self.plan["gateways"][n]]
        return url

    async def join_all(self) -> None:
        """The first bot alone (its gateway hosts the space), then the others."""
        gate = asyncio.Semaphore(bench_gateway.JOIN_CONCURRENCY)
        first, *others = self.bots
        await self.join(first, gate)
        await asyncio.gather(*(self.join(bot, gate) for bot in others))

    def record_latency(self, bot: bench_gateway.Bot, payload: dict[str, Any], now: float) -> None:
        at = self.sent_at(bot, payload)
        if at is None:
            return
        mover = payload["userId"]
        route = f"{self.gateway_of[mover]}>{self.gateway_of[bot.user_id]}"
        if self.window[0] <= at <= self.window[1]:
            latency_ms = (now - at) * 1000
            self.latencies_ms.append(latency_ms)
            self.routes[route].append(latency_ms)
        if self.killed_at is not None and at > self.killed_at:
            self.seen_again.setdefault(mover, now)
            if len(self.seen_again) >= len(self.survivors):
                self.everyone_seen.set()
            if self.recovered is None and self.gateway_of[mover] != self.gateway_of[bot.user_id]:
                self.recovered = (now, route)
                self.came_through.set()

    def take(self, bot: bench_gateway.Bot, frames: list[dict[str, Any]], now: float) -> None:
        super().take(bot, frames, now)
        for frame in frames:
            if frame["type"] == "space-joined":  # from a new host: where it put us
                spawn = frame["payload"]["spawn"]
                bot.x, bot.y = spawn["x"], spawn["y"]
                if self.killed_at is not None and self.rejoined_at is None:
                    self.rejoined_at = now

    async def run(self, pipe: Pipe) -> dict[str, Any]:
        result = await super().run(pipe)
        return result | {"routes": dict(self.routes)}

    async def run_failover(self, pipe: Pipe) -> dict[str, Any]:
        """Walk, SIGKILL the host, and wait for moves to come through a survivor again."""
        loop = asyncio.get_running_loop()
        await self.join_all()
        joined = [bot for bot in self.bots if bot.ws is not None]
        pipe.send({"joined": len(joined), "join_errors": dict(self.join_errors)})
        await loop.run_in_executor(None, pipe.recv)  # "go"
        start = time.perf_counter()
        walker = asyncio.create_task(
            self.walk(joined, start, start + FAILOVER_WARMUP_S + FAILOVER_WAIT_S * 2)
        )
        await asyncio.sleep(FAILOVER_WARMUP_S)
        lease, left_s = lease_of(self.plan["redis_url"], self.plan["space_id"])
        os.kill(self.plan["host_pid"], signal.SIGKILL)
        self.killed_at = killed = time.perf_counter()
        survivors = [bot for bot in joined if self.gateway_of[bot.user_id] != 0]
        self.survivors = {bot.user_id for bot in survivors}
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FAILOVER_WAIT_S):
                await self.came_through.wait()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FAILOVER_AFTER_S):
                await self.everyone_seen.wait()
        pipe.send({"recovered": self.recovered is not None})
        await loop.run_in_executor(None, pipe.recv)  # "close": the bench saw the new host
        walker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await walker
        cut = sum(bot.close_code is not None for bot in survivors)
        closes = await self.close(joined)
        seen = [
            self.seen_again[bot.user_id] - killed
            for bot in survivors
            if bot.user_id in self.seen_again
        ]
        return {
            "joined": len(joined),
            "survivors": len(survivors),
            "survivors_cut": cut,
            "closes": closes,
            "recovered_s": None if self.recovered is None else self.recovered[0] - killed,
            "recovered_route": None if self.recovered is None else self.recovered[1],
            "rejoined_s": None if self.rejoined_at is None else self.rejoined_at - killed,
            "survivors_seen_again": len(seen),
            "all_seen_again_s": max(seen) if seen else None,
            "rejected": sum(bot.rejected for bot in joined),
            "lease_at_kill": lease,
            # What the lease had left when the host died: a survivor can take it after that.
            "lease_left_s": left_s,
        }

    async def run_joins(self, pipe: Pipe) -> dict[str, Any]:
        """Open every connection, then join: the first alone, then all the others at once."""
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(bench_gateway.JOIN_CONCURRENCY)

        async def open_one(bot: bench_gateway.Bot) -> harness.TextConnection | None:
            async with gate:
                return await self.connect(bot)

        sockets = await asyncio.gather(*(open_one(bot) for bot in self.bots))
        opened = [(bot, ws) for bot, ws in zip(self.bots, sockets, strict=True) if ws is not None]
        pipe.send({"connected": len(opened), "join_errors": dict(self.join_errors)})
        await loop.run_in_executor(None, pipe.recv)  # "go"
        cpu_before = time.process_time()
        began = time.perf_counter()
        (first, first_ws), *others = opened
        await self.enter(first, first_ws)
        await asyncio.gather(*(self.enter(bot, ws) for bot, ws in others))
        cpu_s = time.process_time() - cpu_before
        joined = [bot for bot in self.bots if bot.ws is not None]
        times = sorted(bot.joined_at - began for bot in joined)
        by_gateway: defaultdict[int, list[float]] = defaultdict(list)
        for bot in joined:
            by_gateway[self.gateway_of[bot.user_id]].append(bot.joined_at - began)
        pipe.send({"all_joined": len(joined)})
        await loop.run_in_executor(None, pipe.recv)  # "close": the bench read the CPU times
        closes = await self.close(joined)
        return {
            "joined": len(joined),
            "join_errors": dict(self.join_errors),
            "first_s": times[0] if times else None,
            "p50_s": harness.percentile(times, 0.5),
            "last_s": times[-1] if times else None,
            "last_s_by_gateway": {str(g): max(v) for g, v in sorted(by_gateway.items())},
            "frames_received": sum(bot.frames for bot in joined),
            "closes": closes,
            "cpu_s": cpu_s,
        }


def load_process(plan: dict[str, Any], pipe: Pipe) -> None:
    """Entry point of a load process (spawned, so it starts without the parent's state)."""
    try:
        with harness.load_collector() as pauses:
            load = ClusterLoad(plan)
            runs = {"walk": load.run, "failover": load.run_failover, "joins": load.run_joins}
            result = asyncio.run(runs[plan["kind"]](pipe))
        pipe.send(result | pauses.summary())
    except BaseException as error:
        pipe.send({"error": repr(error)})
        raise


# The gateways of one scenario.


def spread(count: int, shares: Sequence[float]) -> list[int]:
    """Which gateway each of `count` clients joins: the first on gateway 0 (the host), the
    others interleaved so that each gateway gets its share, everywhere on the map."""
    counts = [0] * len(shares)
    chosen = []
    for n in range(count):
        gateway = 0
        if n:
            gateway = max(range(len(shares)), key=lambda g: (shares[g] * (n + 1) - counts[g], -g))
        counts[gateway] += 1
        chosen.append(gateway)
    return chosen


class Run:
    """What every scenario of a run shares: the environment, the users, fresh spaces."""

    def __init__(self, env: dict[str, str], workdir: Path, users: list[tuple[str, str]]) -> None:
        self.env = env
        self.workdir = workdir
        self.users = users
        self.spaces: dict[int, list[str]] = {}  # crowd size: spaces not used yet
        self.tag = uuid.uuid4().hex[:8]  # gateway ids unique on the shared Redis
        self.scenarios = 0
        self.logs: list[list[str]] = []  # the last scenario's gateways', once they stopped

    def publishes(self) -> int:
        """PUBLISH commands the shared Redis has run so far."""
        import redis

        client = redis.Redis.from_url(self.env["REDIS_URL"])
        try:
            stats: dict[str, Any] = client.info("commandstats")
        finally:
            client.close()
        calls: int = stats.get("cmdstat_publish", {}).get("calls", 0)
        return calls

    def lease(self, space_id: str) -> str | None:
        return lease_of(self.env["REDIS_URL"], space_id)[0]

    def _keep_logs(self, gateways: list[harness.RoleProcess]) -> None:
        self.logs = [gateway.log_tail().splitlines() for gateway in gateways]

    def space(self, crowd: int) -> str:
        return self.spaces[crowd].pop()

    @contextlib.contextmanager
    def gateways(self, count: int, **settings: str) -> Iterator[list[harness.RoleProcess]]:
        """`count` fresh gateways (ids unique to the scenario), always stopped."""
        self.scenarios += 1
        started: list[harness.RoleProcess] = []
        with contextlib.ExitStack() as stack:
            stack.callback(self._keep_logs, started)
            stack.enter_context(harness.services_held(exclusive=False))
            for n in range(count):
                env = {
                    **self.env,
                    "METAVERSE_SERVICE_ID": f"bench-{self.tag}-{self.scenarios}-gw{n}",
                    **settings,
                }
                gateway = harness.RoleProcess("gateway", env, self.workdir, name=f"gw{n}")
                started.append(stack.enter_context(gateway))
            yield started


def lease_of(redis_url: str, space_id: str) -> tuple[str | None, float]:
    """The space's lease as Redis holds it ("{gateway} {epoch}", None when free), and the
    seconds it has left."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        held = client.get(f"lease:space:{space_id}")
        left_ms = client.pttl(f"lease:space:{space_id}")
    finally:
        client.close()
    return (held.decode() if isinstance(held, bytes) else held), max(0, left_ms) / 1000


def host_of(gateways: Sequence[harness.RoleProcess], space_id: str) -> int | None:
    """Which gateway hosts `space_id` now (the only one whose users gauge has it)."""
    key = f'{USERS_GAUGE}{{space="{space_id}"}}'
    hosts = []
    for n, gateway in enumerate(gateways):
        if gateway.process is not None and gateway.process.poll() is not None:
            continue
        metrics = harness.scrape(gateway.port)
        if metrics is not None and metrics.get(key, 0) > 0:
            hosts.append(n)
    return hosts[0] if len(hosts) == 1 else None


def check_host(gateways: Sequence[harness.RoleProcess], space_id: str) -> None:
    host = host_of(gateways, space_id)
    if host != 0:
        raise RuntimeError(f"the space is hosted by gateway {host}, not the first one reached")


@contextlib.contextmanager
def load(plan: dict[str, Any]) -> Iterator[Pipe]:
    """A load process running `plan`; its pipe. Stopped on exit."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    worker = context.Process(target=load_process, args=(plan, theirs), daemon=True)
    worker.start()
    try:
        yield ours
    finally:
        worker.join(15)
        if worker.is_alive():
            worker.kill()
            worker.join(5)


def plan_for(
    run: Run,
    kind: str,
    gateways: Sequence[harness.RoleProcess],
    shares: Sequence[float],
    **more: Any,
) -> dict[str, Any]:
    users = run.users[: more.pop("clients")]
    return {
        "kind": kind,
        "urls": [f"ws://127.0.0.1:{gateway.port}/ws" for gateway in gateways],
        "gateways": spread(len(users), shares),
        "capabilities": CAPABILITIES,
        "users": users,
        "seed": run.scenarios,
        **more,
    }


def rounded_ms(values: list[float]) -> dict[str, float | int | None]:
    ordered = sorted(values)
    return {
        "samples": len(ordered),
        "p50_ms": harness.rounded(harness.percentile(ordered, 0.50)),
        "p99_ms": harness.rounded(harness.percentile(ordered, 0.99)),
        "max_ms": harness.rounded(ordered[-1] if ordered else None),
    }


# Crossing gateways, and the host's CPU per move.


def run_walk(
    run: Run, name: str, shares: tuple[float, ...], args: argparse.Namespace
) -> dict[str, Any]:
    began = harness.now()
    clients = args.clients
    every = bench_gateway.sample_every(clients, "interest+batch", args.measure, 1)
    with run.gateways(len(shares)) as gateways, ThreadPoolExecutor(len(shares) * 2) as pool:
        plan = plan_for(
            run,
            "walk",
            gateways,
            shares,
            clients=clients,
            space_id=run.space(clients),
            sample_every=every,
            warmup_s=args.warmup,
            measure_s=args.measure,
        )
        with load(plan) as pipe:
            joins = harness.receive(pipe, bench_gateway.JOIN_TIMEOUT_S)
            if not joins["joined"]:
                raise RuntimeError(f"no client could join: {joins['join_errors']}")
            check_host(gateways, plan["space_id"])
            for gateway in gateways:
                gateway.settle()
            with profiled(
                gateways, args.profile, "walk-" + name.replace(" ", "-").replace("/", "-")
            ):
                pipe.send("go")
                time.sleep(args.warmup)
                services_before = harness.services_cpu()
                publishes_before = run.publishes()
                system_before = [system_seconds(g.pid) for g in gateways]
                first = [bench_gateway.Probe(g.pid, g.port, pool) for g in gateways]
                time.sleep(max(0.0, args.measure - (harness.now() - first[0].at)))
                last = [bench_gateway.Probe(g.pid, g.port, pool) for g in gateways]
                system = [
                    system_seconds(g.pid) - s for g, s in zip(gateways, system_before, strict=True)
                ]
                publishes = run.publishes() - publishes_before
                services_after = harness.services_cpu()
            done = harness.receive(pipe, args.measure + bench_gateway.GRACE_S + 60)
        before = [probe.metrics()[0] for probe in first]
        after = [probe.metrics()[0] for probe in last]
    wall = last[0].at - first[0].at
    counts = [plan["gateways"].count(n) for n in range(len(shares))]
    row: dict[str, Any] = {
        "setup": name,
        "clients": clients,
        "clients_by_gateway": counts,
        "host": 0,
        "joined": joins["joined"],
        "join_errors": joins["join_errors"],
        "window_s": round(wall, 3),
        "sampled_every": every,
    }
    moves = sum(
        harness.delta(b, a, 'metaverse_gateway_frames_in_total{type="move"}') or 0
        for b, a in zip(before, after, strict=True)
    )
    rejected = sum(
        harness.delta(b, a, "metaverse_gateway_rejected_moves_total") or 0
        for b, a in zip(before, after, strict=True)
    )
    handled = moves - rejected
    cpu = [end.cpu_s - start.cpu_s for start, end in zip(first, last, strict=True)]
    busy = last[0].machine[0] - first[0].machine[0]
    redis_s = services_seconds(services_before, services_after, "redis-server")
    postgres_s = services_seconds(services_before, services_after, "postgres")
    load_cpu_s = done["cpu_s_in_window"]
    routes = {
        route_name(route, len(shares)): rounded_ms(values)
        for route, values in sorted(done["routes"].items())
    }
    same = [x for route, v in done["routes"].items() if same_gateway(route) for x in v]
    other = [x for route, v in done["routes"].items() if not same_gateway(route) for x in v]
    row.update(
        {
            "moves_per_s": round(handled / wall, 1),
            "rejected_moves": rejected,
            "metrics_answered": all(m is not None for m in before + after),
            "same_gateway": rounded_ms(same),
            "other_gateway": rounded_ms(other) if len(shares) > 1 else None,
            "all": rounded_ms(done["latencies_ms"]),
            "routes": routes,
            "gateway_cpu_pct": [round(100 * s / wall, 1) for s in cpu],
            # Of which in the kernel (socket reads and writes, mostly).
            "gateway_system_pct": [round(100 * s / wall, 1) for s in system],
            "host_us_per_move": round(1e6 * cpu[0] / handled, 1) if handled else None,
            "bridge_us_per_move": (
                round(1e6 * sum(cpu[1:]) / handled, 1) if handled and len(cpu) > 1 else None
            ),
            "total_us_per_move": round(1e6 * sum(cpu) / handled, 1) if handled else None,
            "redis_cpu_pct": round(100 * redis_s / wall, 1),
            # PUBLISH commands Redis ran (every client of the shared Redis counts).
            "redis_publishes_per_s": round(publishes / wall, 1),
            "postgres_cpu_pct": round(100 * postgres_s / wall, 1),
            "load_cpu_pct": round(100 * load_cpu_s / args.measure, 1),
            "other_cpu_pct": round(
                100 * max(0.0, busy - sum(cpu) - load_cpu_s - redis_s - postgres_s) / wall, 1
            ),
            "closes": done["closes"],
            "closed_during_run": done["closed_during_run"],
            "load_gc_max_ms": done["load_gc_max_ms"],
            "scenario_s": round(harness.now() - began, 1),
            "gateway_logs": [g.log_tail().splitlines() for g in gateways],
        }
    )
    return row


def system_seconds(pid: int) -> float:
    """System (kernel) CPU time of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[12]) / os.sysconf("SC_CLK_TCK")


def same_gateway(route: str) -> bool:
    mover, observer = route.split(">")
    return mover == observer


def route_name(route: str, gateways: int) -> str:
    """`0>1` as `host>bridge`: who moved, who saw it (gateway 0 hosts)."""
    names = ["host"] + ["bridge"] * (gateways - 1)
    mover, observer = (int(n) for n in route.split(">"))
    return f"{names[mover]}>{names[observer]}"


def services_seconds(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], name: str
) -> float:
    """CPU seconds the `name` processes spent between the two readings (those started
    meanwhile, such as PostgreSQL's backends for new connections, all of theirs)."""
    return sum(
        seconds - before.get(pid, (comm, 0.0))[1]
        for pid, (comm, seconds) in after.items()
        if comm == name
    )


# Failover.


def run_failover(run: Run, trial: int, ttl_s: float, args: argparse.Namespace) -> dict[str, Any]:
    began = harness.now()
    clients = args.failover_users
    shares = (1 / FAILOVER_GATEWAYS,) * FAILOVER_GATEWAYS
    row: dict[str, Any] = {"trial": trial, "ttl_s": ttl_s, "users": clients}
    with run.gateways(FAILOVER_GATEWAYS, METAVERSE_LEASE_TTL_S=str(ttl_s)) as gateways:
        plan = plan_for(
            run,
            "failover",
            gateways,
            shares,
            clients=clients,
            space_id=run.space(clients),
            sample_every=FAILOVER_SAMPLE_EVERY,
            warmup_s=FAILOVER_WARMUP_S,
            measure_s=0.0,
            host_pid=gateways[0].pid,
            redis_url=run.env["REDIS_URL"],
        )
        row["users_by_gateway"] = [plan["gateways"].count(n) for n in range(FAILOVER_GATEWAYS)]
        with load(plan) as pipe:
            joins = harness.receive(pipe, bench_gateway.JOIN_TIMEOUT_S)
            if joins["joined"] != clients:
                raise RuntimeError(f"{clients - joins['joined']} users could not join: {joins}")
            check_host(gateways, plan["space_id"])
            lease = run.lease(plan["space_id"])
            for gateway in gateways:
                gateway.settle()
            pipe.send("go")
            harness.receive(pipe, FAILOVER_WARMUP_S + FAILOVER_WAIT_S + FAILOVER_AFTER_S + 30)
            row["new_host"] = host_of(gateways, plan["space_id"])
            pipe.send("close")
            done = harness.receive(pipe, 60)
        row["gateway_logs"] = [g.log_tail().splitlines() for g in gateways]
    row.update({k: v for k, v in done.items() if not k.startswith("load_gc")})
    # The host changed before the kill: its lease lapsed (a gateway starved of CPU for
    # longer than the TTL fails to renew it), and the trial timed something else.
    row["lapsed_before_kill"] = row.pop("lease_at_kill") != lease
    for key in ("recovered_s", "rejoined_s", "all_seen_again_s", "lease_left_s"):
        row[key] = harness.rounded(row[key], 3)
    row["scenario_s"] = round(harness.now() - began, 1)
    return row


# Joins.


def run_joins(run: Run, gateways_count: int, args: argparse.Namespace) -> dict[str, Any]:
    began = harness.now()
    clients = args.join_users
    shares = (1 / gateways_count,) * gateways_count
    with run.gateways(gateways_count) as gateways:
        plan = plan_for(
            run,
            "joins",
            gateways,
            shares,
            clients=clients,
            space_id=run.space(clients),
            sample_every=clients + 1,  # nobody parses what they get
            warmup_s=0.0,
            measure_s=0.0,
        )
        with load(plan) as pipe:
            opened = harness.receive(pipe, bench_gateway.JOIN_TIMEOUT_S)
            for gateway in gateways:
                gateway.settle()
            with profiled(gateways, args.profile, f"joins-{gateways_count}gw"):
                cpu_before = [harness.cpu_seconds(g.pid) for g in gateways]
                services_before = harness.services_cpu()
                busy_before = harness.machine_cpu()[0]
                pipe.send("go")
                harness.receive(pipe, bench_gateway.JOIN_TIMEOUT_S + 60)
                cpu = [
                    harness.cpu_seconds(g.pid) - b
                    for g, b in zip(gateways, cpu_before, strict=True)
                ]
                services_after = harness.services_cpu()
                busy = harness.machine_cpu()[0] - busy_before
            pipe.send("close")
            done = harness.receive(pipe, 60)
        postgres_s = services_seconds(services_before, services_after, "postgres")
        redis_s = services_seconds(services_before, services_after, "redis-server")
        row = {
            "gateways": gateways_count,
            "users": clients,
            "users_by_gateway": [plan["gateways"].count(n) for n in range(gateways_count)],
            "connected": opened["connected"],
            "joined": done["joined"],
            "join_errors": done["join_errors"],
            "all_joined_s": harness.rounded(done["last_s"], 2),
            "p50_s": harness.rounded(done["p50_s"], 2),
            "last_s_by_gateway": {k: round(v, 2) for k, v in done["last_s_by_gateway"].items()},
            # From "go" until the last space-joined was read.
            "gateway_cpu_s": [round(s, 2) for s in cpu],
            "load_cpu_s": round(done["cpu_s"], 2),
            "postgres_cpu_s": round(postgres_s, 2),
            "redis_cpu_s": round(redis_s, 2),
            # Everything else on the machine meanwhile.
            "other_cpu_s": round(
                max(0.0, busy - sum(cpu) - done["cpu_s"] - postgres_s - redis_s), 2
            ),
            "frames_received": done["frames_received"],
            "closes": done["closes"],
            "scenario_s": round(harness.now() - began, 1),
            "gateway_logs": [g.log_tail().splitlines() for g in gateways],
        }
    return row


def profiled(
    gateways: Sequence[harness.RoleProcess], folder: Path | None, name: str
) -> contextlib.ExitStack:
    """With a `folder` (--profile), py-spy records each gateway until the stack is closed
    (in `<name>-gw<n>.txt`)."""
    stack = contextlib.ExitStack()
    if folder is not None:
        for n, gateway in enumerate(gateways):
            stack.enter_context(py_spy(gateway.pid, folder / f"{name}-gw{n}.txt"))
    return stack


@contextlib.contextmanager
def py_spy(pid: int, output: Path) -> Iterator[None]:
    """`py-spy record` of process `pid` while the block runs: collapsed stacks (one line
    per stack, with its count of samples) in `output`."""
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [
        "py-spy",
        "record",
        "--gil",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "--output",
        str(output),
    ]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        try:
            recorder.wait(30)
        except subprocess.TimeoutExpired:
            recorder.kill()
            recorder.wait(5)


# Tables.


def fmt(value: Any, pattern: str = "{:.1f}") -> str:
    return "-" if value is None else pattern.format(value)


def walk_table(rows: list[dict[str, Any]]) -> list[str]:
    cells = [
        [
            "setup",
            "clients",
            "moves/s",
            "same gw p50/p99 ms",
            "other gw p50/p99 ms",
            "gw CPU %",
            "host us/move",
            "bridge us/move",
            "redis %",
            "publishes/s",
            "load %",
            "other %",
        ]
    ]
    notes = []
    for row in rows:
        if "error" in row:
            notes.append(f"{row['setup']}: failed: {row['error']}")
            continue
        same, other = row["same_gateway"], row["other_gateway"] or {}
        cells.append(
            [
                row["setup"],
                "+".join(str(n) for n in row["clients_by_gateway"]),
                fmt(row["moves_per_s"], "{:.0f}"),
                f"{fmt(same['p50_ms'])} / {fmt(same['p99_ms'])}",
                f"{fmt(other.get('p50_ms'))} / {fmt(other.get('p99_ms'))}",
                "+".join(f"{x:.0f}" for x in row["gateway_cpu_pct"]),
                fmt(row["host_us_per_move"], "{:.0f}"),
                fmt(row["bridge_us_per_move"], "{:.0f}"),
                fmt(row["redis_cpu_pct"], "{:.0f}"),
                fmt(row["redis_publishes_per_s"], "{:.0f}"),
                fmt(row["load_cpu_pct"], "{:.0f}"),
                fmt(row["other_cpu_pct"], "{:.0f}"),
            ]
        )
        if row["closed_during_run"] or row["closes"]:
            notes.append(f"{row['setup']}: clients closed by the server: {row['closes']}")
    return harness.aligned(cells, left=(0,)) + notes


def failover_table(rows: list[dict[str, Any]]) -> list[str]:
    cells = [
        [
            "TTL s",
            "trials",
            "median s",
            "max s",
            "each trial s",
            "new host seen s",
            "lease left s",
            "after expiry s",
        ]
    ]
    notes = []
    for ttl in sorted({row["ttl_s"] for row in rows}, reverse=True):
        trials = [row for row in rows if row["ttl_s"] == ttl]
        times = [row["recovered_s"] for row in trials if row.get("recovered_s") is not None]
        rejoined = [row["rejoined_s"] for row in trials if row.get("rejoined_s") is not None]
        timed = [row for row in trials if row.get("recovered_s") is not None]
        # What the lease had left at the kill, and the time from its expiry to the first
        # move through (up to a third of the TTL until a bridge looks, then the take-over).
        left = [row["lease_left_s"] for row in timed]
        after = [row["recovered_s"] - row["lease_left_s"] for row in timed]
        cells.append(
            [
                f"{ttl:g}",
                str(len(trials)),
                fmt(statistics.median(times) if times else None, "{:.2f}"),
                fmt(max(times) if times else None, "{:.2f}"),
                " ".join(f"{t:.2f}" for t in times),
                fmt(statistics.median(rejoined) if rejoined else None, "{:.2f}"),
                fmt(statistics.median(left) if left else None, "{:.2f}"),
                fmt(statistics.median(after) if after else None, "{:.2f}"),
            ]
        )
        for row in trials:
            if "error" in row:
                notes.append(f"TTL {ttl:g} s, trial {row['trial']}: failed: {row['error']}")
            elif row.get("recovered_s") is None:
                notes.append(f"TTL {ttl:g} s, trial {row['trial']}: no move came through")
            elif row["lapsed_before_kill"]:
                notes.append(
                    f"TTL {ttl:g} s, trial {row['trial']}: the lease lapsed before the kill "
                    "(the machine starved the host): not a failover after a kill"
                )
            if row.get("survivors_cut") or row.get("survivors_seen_again", 0) < row.get(
                "survivors", 0
            ):
                notes.append(
                    f"TTL {ttl:g} s, trial {row['trial']}: {row['survivors_cut']} survivors cut, "
                    f"{row['survivors_seen_again']} of {row['survivors']} seen moving again"
                )
    return harness.aligned(cells) + notes


def joins_table(rows: list[dict[str, Any]]) -> list[str]:
    cells = [
        [
            "gateways",
            "users",
            "all joined s",
            "p50 s",
            "gw CPU s",
            "postgres CPU s",
            "load CPU s",
            "other CPU s",
        ]
    ]
    notes = []
    for row in rows:
        if "error" in row:
            notes.append(f"{row['gateways']} gateways: failed: {row['error']}")
            continue
        cells.append(
            [
                str(row["gateways"]),
                "+".join(str(n) for n in row["users_by_gateway"]),
                fmt(row["all_joined_s"], "{:.2f}"),
                fmt(row["p50_s"], "{:.2f}"),
                "+".join(f"{s:.1f}" for s in row["gateway_cpu_s"]),
                fmt(row["postgres_cpu_s"]),
                fmt(row["load_cpu_s"]),
                fmt(row["other_cpu_s"]),
            ]
        )
        if row["joined"] != row["users"]:
            notes.append(
                f"{row['gateways']} gateways: {row['joined']} of {row['users']} joined "
                f"({row['join_errors']})"
            )
    return harness.aligned(cells) + notes


# The whole run.


def scenarios(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """(part, what) in the order they run."""
    chosen: list[tuple[str, Any]] = []
    if "walk" in args.parts:
        chosen += [("walk", name) for name in SPLITS]
    if "failover" in args.parts:
        for ttl in args.ttls:
            chosen += [("failover", (trial + 1, ttl)) for trial in range(args.trials)]
    if "joins" in args.parts:
        chosen += [("joins", count) for count in args.join_gateways]
    return chosen


def crowd_of(part: str, args: argparse.Namespace) -> int:
    sizes = {"walk": args.clients, "failover": args.failover_users, "joins": args.join_users}
    size: int = sizes[part]
    return size


def run_one(run: Run, part: str, what: Any, args: argparse.Namespace) -> dict[str, Any]:
    print(f"{part} {what} ...", file=sys.stderr, flush=True)
    try:
        if part == "walk":
            return run_walk(run, what, SPLITS[what], args)
        if part == "failover":
            return run_failover(run, what[0], what[1], args)
        return run_joins(run, what, args)
    except (RuntimeError, TimeoutError, OSError) as error:
        failed = {"error": str(error), "gateway_logs": run.logs}
        if part == "failover":
            return {"trial": what[0], "ttl_s": what[1], **failed}
        return {{"walk": "setup", "joins": "gateways"}[part]: what, **failed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer clients, one failover trial")
    parser.add_argument("--parts", default=",".join(PARTS), help="walk,failover,joins")
    parser.add_argument("--clients", type=int, help="walking clients (default 500)")
    parser.add_argument("--warmup", type=float, help="seconds of walking before measuring")
    parser.add_argument("--measure", type=float, help="seconds measured")
    parser.add_argument("--failover-users", type=int, help="default 200")
    parser.add_argument("--trials", type=int, help="failover trials per TTL (default 5)")
    parser.add_argument("--ttls", help="lease TTLs for the failover, s (default 3,1)")
    parser.add_argument("--join-users", type=int, help="default 1000")
    parser.add_argument("--join-gateways", help="default 1,2,3")
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy (on PATH) records each gateway in this folder, over the walk's warm-up "
        "and window and over the joins (samples of the thread holding the GIL: Python's own "
        "CPU, not the time in system calls or waiting for a core)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    quick = args.quick
    args.parts = args.parts.split(",")
    if unknown := set(args.parts) - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    args.clients = args.clients or (100 if quick else 500)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 2.0)
    args.measure = args.measure if args.measure is not None else (3.0 if quick else 10.0)
    args.failover_users = args.failover_users or (60 if quick else 200)
    args.trials = args.trials or (1 if quick else 5)
    ttls = args.ttls or (f"{DEFAULT_TTL_S:g}" if quick else f"{DEFAULT_TTL_S:g},{SHORT_TTL_S:g}")
    args.ttls = [float(t) for t in ttls.split(",")]
    args.join_users = args.join_users or (200 if quick else 1000)
    args.join_gateways = [
        int(n) for n in (args.join_gateways or ("1,2" if quick else "1,2,3")).split(",")
    ]

    # Stopped with SIGTERM, unwind: the gateways stop and the database is dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    services = {name: os.environ.get(name, "") for name in SERVICE_VARIABLES}
    if not all(services.values()):
        print(f"skipped: needs {' and '.join(SERVICE_VARIABLES)} (set -a; . .services/env)")
        return 0
    busy_before = harness.machine_busy_pct()
    if busy_before > 25:
        print(
            f"warning: the machine is already busy ({busy_before:.0f}% of a core): "
            "expect the numbers to suffer",
            file=sys.stderr,
        )
    began = time.monotonic()
    chosen = scenarios(args)
    rows: dict[str, list[dict[str, Any]]] = {part: [] for part in PARTS}
    workdir = Path(tempfile.mkdtemp(prefix="metaverse-bench-cluster-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        with harness.services_held(exclusive=False):
            url = stack.enter_context(
                harness.postgres_database(services["METAVERSE_TEST_DATABASE_URL"], "bench_cluster")
            )
            env = harness.environment(
                workdir / "data",
                METAVERSE_OUTBOX_FRAMES=str(bench_gateway.OUTBOX_FRAMES),
                DATABASE_URL=url,
                REDIS_URL=services["METAVERSE_TEST_REDIS_URL"],
            )
            harness.migrate(env, workdir)
            crowds = [crowd_of(part, args) for part, _ in chosen]
            users, ids = asyncio.run(
                bench_gateway.populate(workdir / "data", max(crowds), crowds, database_url=url)
            )
        run = Run(env, workdir, users)
        for crowd, space_id in zip(crowds, ids, strict=True):
            run.spaces.setdefault(crowd, []).insert(0, space_id)
        for part, what in chosen:
            rows[part].append(run_one(run, part, what, args))
    elapsed = time.monotonic() - began
    lines = []
    if rows["walk"]:
        lines += ["crossing gateways and the host's CPU per move", *walk_table(rows["walk"]), ""]
    if rows["failover"]:
        lines += ["failover: SIGKILL of the host", *failover_table(rows["failover"]), ""]
    if rows["joins"]:
        lines += ["joins", *joins_table(rows["joins"]), ""]
    print("\n".join(lines))
    print(f"({elapsed:.0f} s in all, {os.cpu_count()} CPUs; details in {args.output})")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "cluster",
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "settings": {
            "map_side_tiles": bench_gateway.MAP_SIDE,
            "viewport_tiles": list(bench_gateway.VIEWPORT),
            "move_period_s": bench_gateway.MOVE_PERIOD_S,
            "outbox_frames": bench_gateway.OUTBOX_FRAMES,
            "capabilities": CAPABILITIES,
            "walk_clients": args.clients,
            "warmup_s": args.warmup,
            "measure_s": args.measure,
            "failover_users": args.failover_users,
            "failover_gateways": FAILOVER_GATEWAYS,
            "failover_trials": args.trials,
            "lease_ttls_s": args.ttls,
            "join_users": args.join_users,
            "quick": quick,
        },
        "busy_before_pct": round(busy_before, 1),
        "elapsed_s": round(elapsed, 1),
        **rows,
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    failed = any("error" in row for part in rows.values() for row in part)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
