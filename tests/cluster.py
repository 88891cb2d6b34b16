"""A cluster as `scripts/cluster.sh` starts it (nginx, two APIs, three gateways, a
consumer on the real services), for the tests that use one through nginx's one URL."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import pytest
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from tests.conftest import run_isolated
from tests.loopback import http_json as http
from tests.loopback import metric_in
from tests.services import service_url

__all__ = ["http"]

ROOT: Final = Path(__file__).resolve().parents[1]
NGINX: Final = Path("/usr/sbin/nginx")
SCRIPT_TIMEOUT_S: Final = 150.0
HTTP_TIMEOUT_S: Final = 5.0
WAIT_S: Final = 10.0
GATEWAYS: Final = ("gateway1", "gateway2", "gateway3")
APIS: Final = ("api1", "api2")
PROCESSES: Final = (*APIS, *GATEWAYS, "consumer", "nginx")


@dataclass
class Cluster:
    """A cluster started by the script: its environment and what `up` wrote down."""

    env: dict[str, str]
    directory: Path
    state: dict[str, str]

    @property
    def url(self) -> str:
        return self.state["URL"]

    def port(self, name: str) -> int:
        return int(self.state[f"{name.upper()}_PORT"])

    def pids(self) -> dict[str, int]:
        return {
            name: int((self.directory / "pids" / f"{name}.pid").read_text())
            for name in PROCESSES
            if (self.directory / "pids" / f"{name}.pid").exists()
        }

    def gateway_connections(self) -> list[int]:
        return [int(metric(self.port(name), "metaverse_gateway_connections")) for name in GATEWAYS]

    def ws(self, query: str = "") -> ClientConnection:
        """A WebSocket to nginx's /ws, opened as the platform's own page would."""
        ws_url = self.url.replace("http://", "ws://", 1)
        return connect(f"{ws_url}/ws{query}", origin=Origin(self.url), open_timeout=HTTP_TIMEOUT_S)

    def wait_connections(self, expected: list[int], what: str) -> None:
        """Until the gateways count `expected` open WebSockets, in order."""
        deadline = time.monotonic() + WAIT_S
        while (counted := self.gateway_connections()) != expected:
            assert time.monotonic() < deadline, f"{what}: the gateways count {counted}"
            time.sleep(0.05)


def script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`scripts/cluster.sh ARGS...` under `env`, its output kept."""
    return subprocess.run(
        ["bash", "scripts/cluster.sh", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
        check=False,
    )


def read_state(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def metric(port: int, name: str, **labels: str) -> float:
    """The sum of the samples of `name` with `labels` on the process's /metrics."""
    status, page = http("GET", f"http://127.0.0.1:{port}/metrics")
    assert status == 200, page
    return metric_in(page, name, **labels)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (stopped processes are reaped by init)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def drop_database(name: str) -> None:
    dsn = service_url("database").replace("postgresql+asyncpg://", "postgresql://", 1)

    async def drop() -> None:
        connection = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres", timeout=10)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    run_isolated(drop())


@contextlib.contextmanager
def running_cluster(directory: Path, **settings: str) -> Iterator[Cluster]:
    """`scripts/cluster.sh up` in `directory` with a free port, a database and a consumer
    group of its own (and `settings` for every process), and `down` whatever happens."""
    service_url("database")  # skips (or fails, in CI) without the services
    if not NGINX.exists():
        reason = f"{NGINX} is missing: run `bash scripts/nginx.sh`"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    run = os.environ.get("METAVERSE_TEST_RUN", "")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    database = f"metaverse_cluster_{run}_{worker}".replace("__", "_").lower()
    env = {
        **os.environ,
        "METAVERSE_CLUSTER_DIR": str(directory),
        "METAVERSE_CLUSTER_PORT": "0",
        "METAVERSE_CLUSTER_DB": database,
        "METAVERSE_CLUSTER_GROUP": f"test-cluster-{uuid.uuid4().hex[:12]}",
        # Settings every process inherits: cheap hashes, no sign-in limit, no demo set,
        # and a short drain, as all the gateways stop together.
        "METAVERSE_LOG_LEVEL": "warning",
        "METAVERSE_SEED_DEMO": "false",
        "METAVERSE_AUTH_RATE_PER_MINUTE": "0",
        "METAVERSE_ARGON2_TIME_COST": "1",
        "METAVERSE_ARGON2_MEMORY_KIB": "8192",
        "METAVERSE_DRAIN_TIMEOUT_S": "2",
        **settings,
    }
    try:
        started = script(env, "up")
        assert started.returncode == 0, f"cluster.sh up failed:\n{started.stderr}"
        state = read_state(directory / "cluster.env")
        assert f"open {state['URL']}" in started.stdout, started.stdout
        yield Cluster(env, directory, state)
    finally:
        stopped = script(env, "down")
        drop_database(database)
        assert stopped.returncode == 0, f"cluster.sh down failed:\n{stopped.stderr}"
