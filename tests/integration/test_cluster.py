"""`scripts/cluster.sh` as an operator runs it: nginx in front of two `metaverse api`,
three `metaverse gateway` and a `metaverse consumer` on the real services, used only
through nginx's one URL; each process's own port is read only for its metrics.

The cluster gets a directory, a free port, a database and a consumer group of its own,
so it never meets a `make cluster` or another test run on the same machine.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection

from tests.cluster import (
    APIS,
    GATEWAYS,
    HTTP_TIMEOUT_S,
    PROCESSES,
    WAIT_S,
    Cluster,
    alive,
    http,
    listening,
    metric,
    running_cluster,
    script,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(tmp_path / "cluster") as started:
        yield started


def sign_up(cluster: Cluster) -> str:
    """A new account, signed up and in through nginx; its access token."""
    username = f"c{uuid.uuid4().hex[:12]}"
    credentials = {"username": username, "password": "password1"}
    status, body = http("POST", f"{cluster.url}/api/v1/signup", {**credentials, "type": "user"})
    assert status == 200, body
    status, body = http("POST", f"{cluster.url}/api/v1/signin", credentials)
    assert status == 200, body
    token: str = body["token"]
    return token


def join(ws: ClientConnection, space_id: str, token: str) -> dict[str, Any]:
    ws.send(json.dumps({"type": "join", "payload": {"spaceId": space_id, "token": token}}))
    frame: dict[str, Any] = json.loads(ws.recv(timeout=HTTP_TIMEOUT_S))
    return frame


def check_http(cluster: Cluster) -> None:
    """Pages and the API answer through nginx; requests alternate over both APIs."""
    status, page = http("GET", f"{cluster.url}/")
    assert status == 200
    assert "<title>metaverse</title>" in page
    status, config = http("GET", f"{cluster.url}/api/v1/config")
    assert status == 200, config
    assert config["gatewayUrl"] == cluster.url.replace("http://", "ws://", 1) + "/ws"

    def served() -> list[float]:
        return [
            metric(cluster.port(name), "metaverse_http_requests_total", route="/healthz")
            for name in APIS
        ]

    before = served()
    for _ in range(10):
        assert http("GET", f"{cluster.url}/healthz")[0] == 200
    spread = [after - earlier for after, earlier in zip(served(), before, strict=True)]
    assert spread == [5, 5], f"/healthz requests per API: {spread}"


def check_pinned(cluster: Cluster) -> None:
    """`/ws?gateway=N` reaches gateway N, and a user there joins a space made through the
    API (each pinned user is another account: one user's second join replaces the first)."""
    owner = sign_up(cluster)
    status, body = http(
        "POST", f"{cluster.url}/api/v1/space", {"name": "cluster", "dimensions": "20x20"}, owner
    )
    assert status == 200, body
    space_id: str = body["spaceId"]
    # Not in the order the balancer would choose itself (gateway 1 first).
    pins = (3, 1, 2)
    expected = [0] * len(GATEWAYS)
    with contextlib.ExitStack() as stack:
        for pin, token in zip(pins, [owner, sign_up(cluster), sign_up(cluster)], strict=True):
            ws = stack.enter_context(cluster.ws(f"?gateway={pin}"))
            frame = join(ws, space_id, token)
            assert frame["type"] == "space-joined", frame
            expected[pin - 1] += 1
            cluster.wait_connections(expected, f"pinned to gateway {pin}")
    cluster.wait_connections([0, 0, 0], "pinned connections closed")


def check_least_conn(cluster: Cluster) -> None:
    """Unpinned WebSockets go to the gateway with the fewest: one each, then, after the
    one on gateway 2 closed, the next one there (round robin would pick gateway 1)."""
    where: dict[int, ClientConnection] = {}
    with contextlib.ExitStack() as stack:
        for opened in range(1, len(GATEWAYS) + 1):
            before = cluster.gateway_connections()
            ws = stack.enter_context(cluster.ws())
            deadline = time.monotonic() + WAIT_S
            while sum(after := cluster.gateway_connections()) < opened:
                assert time.monotonic() < deadline, f"connection {opened} reached no gateway"
                time.sleep(0.05)
            gained = [i for i, (a, b) in enumerate(zip(after, before, strict=True)) if a > b]
            where[gained[0]] = ws
        assert cluster.gateway_connections() == [1, 1, 1]
        where[1].close()
        cluster.wait_connections([1, 0, 1], "closing the one on gateway 2")
        stack.enter_context(cluster.ws())
        cluster.wait_connections([1, 1, 1], "the next one, on gateway 2")


def test_cluster_behind_nginx(cluster: Cluster) -> None:
    pids = cluster.pids()
    assert sorted(pids) == sorted(PROCESSES)

    again = script(cluster.env, "up")
    assert again.returncode == 0, again.stderr
    assert f"open {cluster.url}" in again.stdout
    assert cluster.pids() == pids, "a second `up` started processes again"
    status = script(cluster.env, "status")
    assert status.returncode == 0, status.stdout
    assert status.stdout.count(": up (pid") == len(PROCESSES), status.stdout

    check_http(cluster)
    check_pinned(cluster)
    check_least_conn(cluster)

    stopped = script(cluster.env, "down")
    assert stopped.returncode == 0, stopped.stderr
    for name, pid in pids.items():
        assert not alive(pid), f"{name} (pid {pid}) still runs after down"
    ports = [cluster.port(name) for name in (*APIS, *GATEWAYS, "consumer", "nginx")]
    assert not [port for port in ports if listening(port)], "ports still open after down"
    status = script(cluster.env, "status")
    assert status.returncode == 1
    assert status.stdout.count(": down") == len(PROCESSES), status.stdout
