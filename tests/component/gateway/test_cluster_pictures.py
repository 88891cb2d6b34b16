"""Random interleavings of commands from clients spread over several gateways: when all is
delivered, every client's picture (the fold of the frames it received) is the host's
state as that client may see it. Who sits on which gateway makes no difference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaverse.core.ids import SpaceId, UserId
from tests.component.gateway.clusters import Cluster
from tests.component.gateway.conftest import Client

CLIENTS = 4
SIDE = 8  # the space: 8 by 8 tiles, nothing in the way
MOVE_BURST = 20  # METAVERSE_MOVE_RATE_PER_S's burst: the fake clock never refills it
CAPS = ["presence", "proximity"]
STEPS = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0), "jump": (3, 0)}

Command = tuple[int, str]
commands = st.lists(
    st.tuples(
        st.integers(0, CLIENTS - 1),
        st.sampled_from([*STEPS, "busy", "dnd", "available"]),
    ),
    min_size=1,
    max_size=25,
)


@dataclass
class Picture:
    """What one client knows, folded from its frames."""

    me: str
    at: tuple[int, int]
    others: dict[str, tuple[int, int]] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    call: str | None = None
    peers: set[str] = field(default_factory=set)

    def fold(self, frame: dict[str, Any]) -> None:
        kind, body = frame["type"], frame["payload"]
        if kind == "space-joined":
            self.at = (body["spawn"]["x"], body["spawn"]["y"])
            self.others = {u["userId"]: (u["x"], u["y"]) for u in body["users"]}
        elif kind in ("user-joined", "movement"):
            self.others[body["userId"]] = (body["x"], body["y"])
        elif kind == "movement-rejected":
            self.at = (body["x"], body["y"])
        elif kind == "user-left":
            del self.others[body["userId"]]
        elif kind == "status":
            self.statuses[body["userId"]] = body["status"]
        elif kind == "call-joined":
            self.call, self.peers = body["callId"], {p["userId"] for p in body["peers"]}
        elif kind == "call-peer-joined":
            assert body["callId"] == self.call, frame
            self.peers.add(body["userId"])
        elif kind == "call-peer-left":
            assert body["callId"] == self.call, frame
            self.peers.discard(body["userId"])
        elif kind == "call-left":
            assert body["callId"] == self.call, frame
            self.call, self.peers = None, set()


async def settle(clients: list[tuple[Client, Picture]]) -> None:
    """Fold every frame until no client receives anything for a while."""
    while True:
        got = False
        for client, picture in clients:
            try:
                frame = await client.recv(0.15)
            except TimeoutError:
                continue
            got = True
            picture.fold(frame)
        if not got:
            return


async def run(cluster_of: Callable[..., Any], script: list[Command]) -> None:
    """Four clients, alternately on two gateways, play `script`; then each picture must be
    the host's state."""
    cluster: Cluster = await cluster_of(2)
    try:
        await play(cluster, script)
    finally:
        for node in cluster.nodes:
            await node.stop()


async def refused(client: Client, picture: Picture) -> None:
    """Fold the client's frames up to the `movement-rejected` it has coming."""
    while True:
        frame = await client.recv(3.0)
        picture.fold(frame)
        if frame["type"] == "movement-rejected":
            return


async def play(cluster: Cluster, script: list[Command]) -> None:
    maker = cluster.maker
    space_id = await maker.space(SIDE, SIDE)
    clients: list[tuple[Client, Picture]] = []
    for index in range(CLIENTS):
        user_id, token = await maker.user(f"p{index}")
        node = cluster.nodes[index % len(cluster.nodes)]
        client, joined = await node.join(space_id, token, capabilities=CAPS)
        picture = Picture(user_id, (joined["spawn"]["x"], joined["spawn"]["y"]))
        picture.fold({"type": "space-joined", "payload": joined})
        clients.append((client, picture))
    await settle(clients)
    moves = [0] * CLIENTS
    for who, action in script:
        client, picture = clients[who]
        if action in STEPS:
            dx, dy = STEPS[action]
            target = (picture.at[0] + dx, picture.at[1] + dy)
            moves[who] += 1
            await client.send("move", {"x": target[0], "y": target[1]})
            # A client predicts the moves it knows to be legal, as the browser does. One it
            # knows will be refused (too far, off the map, over the rate), it sends and then
            # waits for the answer: a refusal arriving after later moves were sent would put
            # it back where it stood before them, and nothing tells a mover that a move was
            # accepted.
            if (
                abs(dx) + abs(dy) == 1
                and 0 <= target[0] < SIDE
                and 0 <= target[1] < SIDE
                and moves[who] <= MOVE_BURST
            ):
                picture.at = target
            else:
                await refused(client, picture)
        else:
            await client.send("status", {"status": action})
    await settle(clients)
    [host] = [
        node.gateway.hosts[SpaceId(space_id)]
        for node in cluster.nodes
        if SpaceId(space_id) in node.gateway.hosts
    ]
    snapshot = host.space.snapshot()
    for _, picture in clients:
        me = UserId(picture.me)
        state = snapshot.users[me]
        assert picture.at == (state.x, state.y)
        assert picture.others == {u: (s.x, s.y) for u, s in snapshot.users.items() if u != me}
        for user, status in picture.statuses.items():
            assert status == snapshot.users[UserId(user)].status
        mine = [call_id for call_id, call in snapshot.calls.items() if me in call.members]
        if mine:
            assert picture.call == mine[0]
            assert picture.peers == set(snapshot.calls[mine[0]].members) - {me}
        else:
            assert picture.call is None and picture.peers == set()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(script=commands)
async def test_every_client_sees_the_host_state_whatever_gateway_it_is_on(
    cluster_of: Callable[..., Any], script: list[Command]
) -> None:
    await run(cluster_of, script)
