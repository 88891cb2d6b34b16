"""Several in-process gateways on one database, one in-memory pub/sub broker and one set
of in-memory leases, each on a port of its own, for tests of gateways sharing spaces."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from metaverse.api.context import ApiContext
from metaverse.backends.eventlog import MemoryEventLog
from metaverse.backends.leases import MemoryLeases
from metaverse.backends.pubsub import MemoryBroker, MemoryPubSub
from metaverse.clock import FakeClock
from metaverse.core.ids import SpaceId
from metaverse.gateway.directory import Directory
from metaverse.gateway.server import Gateway
from metaverse.settings import Settings
from tests.component.gateway.conftest import Client, World
from tests.loopback import free_port

TTL_S = 0.6
CAPS = ["profiles", "proximity", "presence", "chat"]


@dataclass
class Cluster:
    context: ApiContext
    clock: FakeClock
    leases: MemoryLeases
    nodes: list[World] = field(default_factory=list)
    _serving: dict[int, Any] = field(default_factory=dict)

    @property
    def maker(self) -> World:
        return self.nodes[0]

    def hosts(self, space_id: str) -> list[int]:
        """Which nodes host the space."""
        return [i for i, node in enumerate(self.nodes) if SpaceId(space_id) in node.gateway.hosts]

    async def crash(self, index: int) -> None:
        """The node stops as a killed process does: no lease released, nobody told."""
        node = self.nodes[index]
        cluster = node.gateway.cluster
        assert cluster is not None
        for task in cluster._tasks:
            task.cancel()
        await node.gateway.pubsub.close()
        for client in list(node.clients):
            await client.ws.close()
        node.gateway.cluster = None  # nothing to release on the way out
        node.gateway.hosts.clear()

    async def hosted_by(self, space_id: str, index: int) -> None:
        async with asyncio.timeout(3):
            while self.hosts(space_id) != [index]:  # noqa: ASYNC110 - set by other gateways
                await asyncio.sleep(0.01)

    async def drain(self, index: int) -> None:
        """The node stops as on SIGTERM, its clients still connected."""
        node = self.nodes[index]
        serving, node._serving = node._serving, None
        await serving.__aexit__(None, None, None)

    async def expire_leases(self) -> None:
        """Let every lease not renewed since run out, then give the loops a turn."""
        self.clock.advance(TTL_S + 0.01)
        await asyncio.sleep(TTL_S)


@pytest.fixture
async def cluster_of(
    tmp_path: Path, sqlite_template: Path, make_settings: Callable[..., Settings]
) -> AsyncIterator[Callable[..., Any]]:
    made: list[Cluster] = []

    async def make(count: int = 2, **overrides: Any) -> Cluster:
        path = tmp_path / f"cluster{len(made)}.db"
        shutil.copyfile(sqlite_template, path)
        settings = make_settings(
            database_url=f"sqlite+aiosqlite:///{path}", lease_ttl_s=TTL_S, **overrides
        )
        clock = FakeClock()
        broker = MemoryBroker()
        event_log = MemoryEventLog()
        context = ApiContext.build(
            settings, clock, event_log=event_log, pubsub=MemoryPubSub(broker)
        )
        leases = MemoryLeases(clock)
        cluster = Cluster(context, clock, leases)
        for index in range(count):
            gateway = Gateway(
                settings.model_copy(update={"service_id": f"gw{index}"}),
                clock,
                context.accounts.access_tokens,
                Directory(context.sessions),
                event_log,
                MemoryPubSub(broker),
                CollectorRegistry(),
                leases=leases,
            )
            port = free_port()
            serving = gateway.serving("127.0.0.1", port)
            await serving.__aenter__()
            cluster.nodes.append(World(context, gateway, clock, port, _serving=serving))
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        for node in reversed(cluster.nodes):
            await node.stop()
        await cluster.context.close()


async def frame_of(client: Client, type_: str, timeout_s: float = 3.0) -> dict[str, Any]:
    """The next frame of `type_`, skipping others."""
    async with asyncio.timeout(timeout_s):
        while True:
            frame = await client.recv(timeout_s)
            if frame["type"] == type_:
                payload: dict[str, Any] = frame["payload"]
                return payload


@dataclass
class Pair:
    """Ann on the first node (the space's host) and Bob on the second, in one call."""

    space_id: str
    ann_id: str
    ann_token: str
    ann: Client
    ann_joined: dict[str, Any]
    bob_id: str
    bob_token: str
    bob: Client
    call: dict[str, Any]


async def pair_in_a_call(cluster: Cluster, host: int = 0, bridge: int = 1) -> Pair:
    """Ann joins through node `host` (so it hosts the space), Bob through node `bridge`
    on her cell: they are in one call."""
    maker = cluster.maker
    space_id = await maker.space(10, 10)
    ann_id, ann_token = await maker.user("ann")
    bob_id, bob_token = await maker.user("bob")
    ann, ann_joined = await cluster.nodes[host].join(space_id, ann_token, capabilities=CAPS)
    bob, _ = await cluster.nodes[bridge].join(
        space_id, bob_token, capabilities=CAPS, resume={**ann_joined["spawn"]}
    )
    call = await frame_of(bob, "call-joined")
    await frame_of(ann, "call-joined")
    return Pair(space_id, ann_id, ann_token, ann, ann_joined, bob_id, bob_token, bob, call)
