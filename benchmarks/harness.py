"""What the benchmarks that start real processes share: free ports, a `metaverse <role>`
process that is always stopped, CPU and memory read from /proc, Prometheus scrapes, a
clean environment, the shared services (their lock, a database of one's own), percentiles
and plain-text tables.

Imported by the benchmark scripts as `harness` (they run with benchmarks/ on sys.path).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from metaverse.gateway.heap import frozen_heap
from metaverse.gateway.websocket import at_frame_start

try:  # websockets' C speed-up, when it was built
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover
    from websockets.utils import apply_mask

# The first byte of an unfragmented text frame without extension bits (FIN, opcode 1).
FIN_TEXT = 0x81
JWT_SECRET = "benchmark-only-secret-" + "0123456789abcdef" * 2
# No argon2 hash matches this: nobody can sign in as a bench user, and none needs to.
NO_PASSWORD = "!"  # noqa: S105
SETTLE_TIMEOUT_S = 30.0
LOCK_TIMEOUT_S = 300.0
SCRAPE_TIMEOUT_S = 20.0
UP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
# Settings read in their bare form too (see metaverse.settings): never inherited.
BARE_SETTINGS = (
    "PORT",
    "WS_PORT",
    "HEALTH_PORT",
    "DATABASE_URL",
    "REDIS_URL",
    "JWT_SECRET",
    "KAFKA_BROKER",
    "SERVICE_ID",
)
# The integration tests' lock on the shared services (tests/integration/backends): held
# shared while they are used, exclusively by tests that stop and start them.
SERVICES_LOCK = Path(tempfile.gettempdir()) / "metaverse-test-services.lock"
SERVICE_PROCESSES = ("java", "postgres", "redis-server")  # /proc/<pid>/comm


def environment(data_dir: Path, **settings: str) -> dict[str, str]:
    """A bench's own environment: nothing inherited can point it at another database.

    `settings` are added as given (`METAVERSE_OUTBOX_FRAMES="4096"`, ...).
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("METAVERSE_") and k not in BARE_SETTINGS
    }
    env.update(
        METAVERSE_DATA_DIR=str(data_dir),
        JWT_SECRET=JWT_SECRET,
        METAVERSE_HOST="127.0.0.1",
        METAVERSE_SEED_DEMO="false",
        METAVERSE_LOG_LEVEL="warning",
        METAVERSE_ARGON2_TIME_COST="1",
        METAVERSE_ARGON2_MEMORY_KIB="8192",
    )
    env.update(settings)
    return env


class CollectorPauses:
    """The garbage collector's pauses in this process: a `gc.callbacks` hook."""

    def __init__(self) -> None:
        self.started = 0.0
        self.count = 0
        self.max_ms = 0.0

    def __call__(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        pause_ms = (time.perf_counter() - self.started) * 1000
        self.count += 1
        self.max_ms = max(self.max_ms, pause_ms)

    def summary(self) -> dict[str, float]:
        return {"load_gc_pauses": self.count, "load_gc_max_ms": round(self.max_ms, 1)}

    def restart(self) -> None:
        """Count from now on (a new measurement)."""
        self.count, self.max_ms = 0, 0.0


@contextmanager
def load_collector() -> Iterator[CollectorPauses]:
    """A load process's collector: the gateway's policy, and a record of its pauses.

    A load process times deliveries as it reads them, so while its own collector stops it,
    every frame waiting in its sockets looks late by the length of the pause. Left to
    CPython's defaults, full collections of a 1,000-client load (its own bookkeeping grows
    through a run) stopped it for 50-125 ms every few seconds: more than the p99 being
    measured. The gateway roles freeze the survivors of each full collection
    (`metaverse.gateway.heap`); a load process does the same, and reports its pauses.
    """
    pauses = CollectorPauses()
    gc.callbacks.append(pauses)
    try:
        with frozen_heap():
            yield pauses
    finally:
        gc.callbacks.remove(pauses)


def migrate(env: dict[str, str], workdir: Path) -> None:
    """`metaverse migrate` with `env`, in `workdir` (no stray .env file is read)."""
    subprocess.run(
        [sys.executable, "-m", "metaverse", "migrate"],
        env=env,
        cwd=workdir,
        check=True,
        capture_output=True,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float, float]:
    """Seconds of (busy, steal, all) CPU time on the whole machine, from /proc/stat."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = ticks
    hz = os.sysconf("SC_CLK_TCK")
    busy = user + nice + system + irq + softirq
    return busy / hz, steal / hz, (busy + idle + iowait + steal) / hz


def machine_busy_pct(seconds: float = 1.0) -> float:
    """How busy the machine is, in % of one core, over the next `seconds`."""
    busy_before = machine_cpu()[0]
    time.sleep(seconds)
    return 100 * (machine_cpu()[0] - busy_before) / seconds


def services_cpu() -> dict[int, tuple[str, float]]:
    """Name and CPU seconds of the PostgreSQL, Redis and Kafka processes, by pid."""
    seconds: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            name = (entry / "comm").read_text().strip()
            if name in SERVICE_PROCESSES:
                seconds[int(entry.name)] = (name, cpu_seconds(int(entry.name)))
    return seconds


@contextmanager
def services_held(*, exclusive: bool) -> Iterator[None]:
    """The services lock (SERVICES_LOCK), shared or exclusive, waited for a bounded time:
    while it is held, no test stops or restarts a service under the bench."""
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    with SERVICES_LOCK.open("a") as handle:
        deadline = now() + LOCK_TIMEOUT_S
        waiting = False
        while True:
            try:
                fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waiting:
                    print(f"waiting for {SERVICES_LOCK} (tests use the services)", file=sys.stderr)
                    waiting = True
                if now() > deadline:
                    raise TimeoutError(
                        f"others held {SERVICES_LOCK} for {LOCK_TIMEOUT_S:.0f} s"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def postgres_database(admin_url: str, purpose: str) -> Iterator[str]:
    """A fresh database `metaverse_<purpose>_<random>` on the PostgreSQL server of
    `admin_url`, dropped afterwards; yields its URL."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    from metaverse.settings import normalise_database_url

    name = f"metaverse_{purpose}_{uuid.uuid4().hex[:12]}"
    url = make_url(normalise_database_url(admin_url))

    async def admin(statement: str) -> None:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def http_get(port: int, path: str, timeout_s: float = 10.0) -> str:
    url = f"http://127.0.0.1:{port}{path}"
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        body: bytes = response.read()
        return body.decode()


def scrape(port: int, timeout_s: float = SCRAPE_TIMEOUT_S) -> dict[str, float] | None:
    """A process's Prometheus samples, keyed by `name{labels}`; None if it can't answer."""
    try:
        text = http_get(port, "/metrics", timeout_s=timeout_s)
    except OSError:  # a process swamped by its own work may not answer in time
        return None
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            values[key] = float(value)
    return values


def delta(
    before: Mapping[str, float] | None, after: Mapping[str, float] | None, name: str
) -> float | None:
    """How much the counters named `name` (summed over labels) grew; None without data."""
    if before is None or after is None:
        return None
    return total(after, name) - total(before, name)


def total(metrics: Mapping[str, float], name: str) -> float:
    return sum(v for k, v in metrics.items() if k == name or k.startswith(name + "{"))


def per_s(count: float | None, seconds: float) -> float | None:
    return None if count is None else round(count / seconds, 1)


class RoleProcess:
    """`python -m metaverse <role>` on loopback, logging to a file in `workdir`; always
    stopped (terminate, then kill) on exit.

    `port_setting` names the setting given a free port and polled for `/healthz` until the
    process is up; `ports` are more settings given free ports (`serve`'s API `PORT`).
    """

    def __init__(
        self,
        role: str,
        env: Mapping[str, str],
        workdir: Path,
        *,
        port_setting: str = "METAVERSE_WS_PORT",
        ports: Sequence[str] = (),
        name: str | None = None,
    ) -> None:
        self.role = role
        self.port = free_port()
        self.ports = {setting: free_port() for setting in ports}
        self.env = {**env, port_setting: str(self.port), **map_str(self.ports)}
        self.name = name or role
        self.log = workdir / f"{self.name}-{self.port}.log"
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.early_exit: int | None = None  # its exit code, if it stopped before we did

    def __enter__(self) -> RoleProcess:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "metaverse", self.role],
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_until_up()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_until_up(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + UP_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            try:
                http_get(self.port, "/healthz", timeout_s=1)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def log_tail(self, lines: int = 20) -> str:
        """The end of what the process logged (warnings and worse)."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def __exit__(self, *_exc: object) -> None:
        if self.process is None:
            return
        if self.process.poll() is not None:
            self.early_exit = self.process.returncode
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_S)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def settle(self, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
        """Wait until the process is nearly idle (below 10% of a core over half a second)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            before = cpu_seconds(self.pid)
            time.sleep(0.5)
            if cpu_seconds(self.pid) - before < 0.05:
                return


def map_str(values: Mapping[str, int]) -> dict[str, str]:
    return {key: str(value) for key, value in values.items()}


def receive(pipe: Pipe, timeout_s: float) -> dict[str, Any]:
    """The next message of a load process; raises if it failed or said nothing in time."""
    if not pipe.poll(timeout_s):
        raise TimeoutError(f"a load process said nothing for {timeout_s:.0f} s")
    message: dict[str, Any] = pipe.recv()
    if "error" in message:
        raise RuntimeError(f"a load process failed: {message['error']}")
    return message


def percentile(ordered: Sequence[float], share: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def now() -> float:
    return time.monotonic()


def aligned(cells: Sequence[Sequence[str]], left: Sequence[int] = ()) -> list[str]:
    """Lines of a plain-text table: columns right-aligned, except those in `left`."""
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    return [
        "  ".join(
            cell.ljust(widths[i]) if i in left else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        ).rstrip()
        for line in cells
    ]


class TextConnection(ClientConnection):
    """A client connection for load processes: each text message goes to `on_text` as it
    is read, and `send_now` writes a text frame without awaiting.

    A load process stands in for a thousand clients on machines of their own, yet shares
    this one's two cores with the platform: whatever it spends is taken from the process
    measured, and its own delays show up in the latencies it reports. So:

    - no reader task, no message queue: messages are handed on straight from the parser;
    - the server's frames that are whole, unfragmented text at the start of a read, while
      websockets' parser stands between frames, are cut out of the read directly (the
      gateway reads its clients' frames the same way, `metaverse.gateway.websocket`);
      anything else (a ping, a close, a frame cut off by the end of the read) and what
      follows it go through websockets as usual. The text is not checked for UTF-8 here:
      the gateway's own tests do that, and a load process decodes only what it samples;
    - `send_now` masks and writes a frame in one call while the connection is open and
      its socket keeps up, where `send` takes a lock, a context manager and websockets'
      frame objects.

    Until `on_text` is set, messages queue for `recv` as usual.
    """

    on_text: Callable[[bytes, float], None] | None = None
    # Frames `send_after_read` queued while a read is handled: one write after it.
    _after_read: list[bytes] | None = None

    def data_received(self, data: bytes) -> None:
        self._after_read = []
        try:
            if self.on_text is not None:
                taken = self._take_text_frames(data)
                if taken == len(data):
                    return
                if taken:
                    data = data[taken:]
            super().data_received(data)
        finally:
            queued, self._after_read = self._after_read, None
            if queued and self.protocol.state is State.OPEN:
                self.transport.write(b"".join(queued))

    def _take_text_frames(self, data: bytes) -> int:
        if not at_frame_start(self.protocol):
            return 0
        on_text = self.on_text
        assert on_text is not None
        at, end = 0, len(data)
        now = time.perf_counter()
        while end - at >= 2 and data[at] == FIN_TEXT:
            length = data[at + 1]  # a server's frame is not masked
            if length < 126:
                start = at + 2
            elif length == 126 and end - at >= 4:
                length = int.from_bytes(data[at + 2 : at + 4])
                start = at + 4
            elif length == 127 and end - at >= 10:
                length = int.from_bytes(data[at + 2 : at + 10])
                start = at + 10
            else:
                break
            if start + length > end:
                break
            on_text(data[start : start + length], now)
            at = start + length
        return at

    def process_event(self, event: Any) -> None:
        if self.on_text is not None and isinstance(event, Frame) and event.opcode is Opcode.TEXT:
            # The gateway sends every message as one frame (fin set), never fragmented.
            data = event.data
            self.on_text(data if isinstance(data, bytes) else bytes(data), time.perf_counter())
            return
        super().process_event(event)

    def send_now(self, text: str) -> bool:
        """Write `text` as one masked text frame now; False (nothing written) when the
        connection is not open or its socket is backed up: then `await send(text)`."""
        if not self._writable():
            return False
        self.transport.write(self._masked_frame(text))
        return True

    def send_after_read(self, text: str) -> bool:
        """From `on_text`: `text` goes out as `send_now` would, in one write with the other
        frames queued while the same read is handled. False as `send_now`."""
        if self._after_read is None:
            return self.send_now(text)
        if not self._writable():
            return False
        self._after_read.append(self._masked_frame(text))
        return True

    def _writable(self) -> bool:
        return (
            self.protocol.state is State.OPEN
            and not self.paused
            and not self.transport.is_closing()
        )

    @staticmethod
    def _masked_frame(text: str) -> bytes:
        payload = text.encode()
        length = len(payload)
        if length < 126:
            header = bytes((FIN_TEXT, 0x80 | length))
        elif length < 65536:
            header = bytes((FIN_TEXT, 0x80 | 126)) + length.to_bytes(2)
        else:
            header = bytes((FIN_TEXT, 0x80 | 127)) + length.to_bytes(8)
        mask = os.urandom(4)
        return header + mask + apply_mask(payload, mask)
