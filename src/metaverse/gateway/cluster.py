"""Several gateways serving the same spaces: who hosts each space, and the messages between
gateways (see `protocol.gateways`).

Each live space has one host, the gateway holding its lease (`Leases`, key `space:{id}`):
it runs the core and orders the space's commands. A gateway that receives a user of a
space hosted elsewhere bridges them (`SpaceBridge`). A space nobody hosts goes to the
gateway its first user reached, unless that gateway's load is over the threshold: then it
asks the least-loaded live gateway to host it (`HostRequest`).

Two loops keep it so, each every third of the lease's time to live: the host renews the
leases of its spaces and publishes its load; a bridge checks that its spaces' host still
holds their lease. A host that finds its lease taken steps down and bridges its users to
the new host; a bridge that finds the lease free takes the space over, rebuilt from the
database and from its users, and tells the other gateways (`HostChanged`), whose bridges
hand it their users where they stood (`Resync`). A host that can't reach Redis keeps
serving the users it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Final

from metaverse.accounts.tokens import Principal
from metaverse.accounts.tokens import UserId as TokenUserId
from metaverse.backends.leases import Lease, Leases, LeasesUnavailable
from metaverse.core.ids import SpaceId, UserId
from metaverse.gateway.bridge import REJECT_MOVE, SpaceBridge
from metaverse.gateway.host import SpaceHost
from metaverse.gateway.remote import Outbound, RemoteConnection
from metaverse.protocol import messages as m
from metaverse.protocol.codec import ProtocolError, decode
from metaverse.protocol.gateways import (
    Attach,
    Close,
    Commands,
    Detach,
    Frames,
    GatewayMessage,
    GatewayWireError,
    Handoff,
    HostChanged,
    HostRequest,
    LoadReport,
    Resync,
    UserSeat,
    decode_gateway,
    encode_gateway,
    gateway_channel,
)

if TYPE_CHECKING:
    from metaverse.gateway.server import Gateway

log = logging.getLogger(__name__)

# How long a gateway that asked another to host a space waits for it to take the lease.
HOST_REQUEST_WAIT_S: Final = 1.0
# How long a space hosted on request may stay empty before it is let go.
EMPTY_HOST_GRACE_S: Final = 10.0


def lease_key(space_id: str) -> str:
    return f"space:{space_id}"


class Cluster:
    def __init__(
        self,
        gateway: Gateway,
        leases: Leases,
        *,
        gateway_id: str,
        ttl_s: float,
        load_threshold: float,
        capacity: int,
        linger_s: float,
    ) -> None:
        self.id = gateway_id
        self.channel = gateway_channel(gateway_id)
        self._gateway = gateway
        self._leases = leases
        self._ttl_ms = round(ttl_s * 1000)
        self._period_s = ttl_s / 3
        self._threshold = load_threshold
        self._capacity = capacity
        self._linger_s = linger_s
        self._outbounds: dict[tuple[SpaceId, str], Outbound] = {}
        # Messages for spaces being loaded here, acted on once they are.
        self._waiting: dict[SpaceId, list[GatewayMessage]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    # Life.

    async def start(self) -> None:
        await self._gateway.pubsub.subscribe(self.channel)
        self._tasks = [
            asyncio.create_task(self._keep(self._renew), name="leases"),
            asyncio.create_task(self._keep(self._watch), name="bridges"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for space_id, host in list(self._gateway.hosts.items()):
            with contextlib.suppress(LeasesUnavailable):
                await self._leases.release(lease_key(space_id), self.id, host.epoch)

    async def _keep(self, step: object) -> None:
        assert callable(step)
        while True:
            await asyncio.sleep(self._period_s)
            try:
                await step()
            except LeasesUnavailable as error:
                log.warning("leases unavailable: %s", error)
            except Exception:  # a dead loop would stop renewing for good
                log.exception("cluster upkeep failed")

    def load(self) -> float:
        return self._gateway.connected / self._capacity

    # Where a space is hosted.

    async def place(self, space_id: SpaceId) -> Lease:
        """The lease of `space_id`: held by this gateway or another, taken now if free."""
        key = lease_key(space_id)
        lease = await self._leases.holder(key)
        if lease is not None:
            return lease
        if self.load() > self._threshold:
            other = await self._least_loaded()
            if other is not None:
                self._publish(other, HostRequest(space_id, self.id))
                deadline = asyncio.get_running_loop().time() + HOST_REQUEST_WAIT_S
                while asyncio.get_running_loop().time() < deadline:
                    await asyncio.sleep(0.05)
                    lease = await self._leases.holder(key)
                    if lease is not None:
                        return lease
        return await self._leases.acquire(key, self.id, self._ttl_ms)

    async def _least_loaded(self, *, include_busier: bool = False) -> str | None:
        """The live gateway with the least load below this one's (or any, when
        `include_busier`)."""
        reports = []
        for data in (await self._leases.reports()).values():
            with contextlib.suppress(GatewayWireError):
                reports.append(LoadReport.from_bytes(data))
        mine = self.load()
        others = [r for r in reports if r.gateway != self.id and (include_busier or r.load < mine)]
        return min(others, key=lambda r: (r.load, r.gateway)).gateway if others else None

    # Messages from other gateways.

    def receive(self, data: bytes) -> None:
        try:
            message = decode_gateway(data)
        except GatewayWireError as error:
            log.warning("ignoring a gateway message this gateway can't read: %s", error)
            return
        space_id = SpaceId(message.space_id)
        waiting = self._waiting.get(space_id)
        if waiting is not None and isinstance(message, Attach | Commands | Detach | Resync):
            waiting.append(message)
            return
        self._act(message)

    def _act(self, message: GatewayMessage) -> None:
        gateway = self._gateway
        space_id = SpaceId(message.space_id)
        match message:
            case Attach():
                host = gateway.hosts.get(space_id)
                if host is not None:
                    self._seat(host, message.gateway, message.seat)
            case Resync():
                host = gateway.hosts.get(space_id)
                if host is not None:
                    for seat in message.seats:
                        self._seat(host, message.gateway, seat)
            case Commands():
                host = gateway.hosts.get(space_id)
                if host is not None:
                    for user_id, frame in message.commands:
                        self._command(host, message.gateway, UserId(user_id), frame)
            case Detach():
                host = gateway.hosts.get(space_id)
                if host is not None:
                    remote = host.connections.get(UserId(message.user_id))
                    if isinstance(remote, RemoteConnection) and remote.gateway == message.gateway:
                        if message.resume:
                            gateway.park(host, remote)
                        else:
                            gateway.leave_host(host, remote)
            case Frames():
                bridge = self._current_bridge(space_id, message.epoch)
                if bridge is not None:
                    bridge.deliver(message.items)
            case Close():
                bridge = self._current_bridge(space_id, message.epoch)
                if bridge is not None:
                    bridge.close(UserId(message.user_id), message.code, message.reason)
                    gateway.forget_bridge_if_empty(bridge)
            case HostChanged():
                bridge = gateway.bridges.get(space_id)
                if bridge is not None and message.epoch > bridge.epoch:
                    if message.handoff:  # the new host has this gateway's users already
                        bridge.host, bridge.epoch = message.host, message.epoch
                    else:
                        bridge.rehome(message.host, message.epoch)
            case HostRequest():
                if space_id not in gateway.hosts:
                    gateway.spawn(self._host_on_request(space_id))
            case Handoff():
                self.loading(space_id)
                gateway.spawn(self._take_handoff(message))

    def _current_bridge(self, space_id: SpaceId, epoch: int) -> SpaceBridge | None:
        bridge = self._gateway.bridges.get(space_id)
        if bridge is None or epoch < bridge.epoch:
            return None  # a deposed host
        bridge.epoch = epoch
        return bridge

    def _seat(self, host: SpaceHost, gateway_id: str, seat: UserSeat) -> None:
        previous = host.connections.get(UserId(seat.user_id))
        if isinstance(previous, RemoteConnection) and previous.gateway == gateway_id:
            previous.park()  # the same person through the same bridge: they resume in place
        host.join_seat(self.remote(host, gateway_id, seat), seat)

    def outbound(self, host: SpaceHost, gateway_id: str) -> Outbound:
        key = (host.space_id, gateway_id)
        outbound = self._outbounds.get(key)
        if outbound is None:
            outbound = Outbound(
                self._gateway.pubsub,
                gateway_id,
                host.space_id,
                host.epoch,
                linger_s=self._linger_s,
            )
            self._outbounds[key] = outbound
        outbound.epoch = host.epoch
        return outbound

    def forget_host(self, space_id: SpaceId, epoch: int) -> None:
        """`space_id` is no longer hosted here: its frames' buffers go, its lease too."""
        for key in [key for key in self._outbounds if key[0] == space_id]:
            del self._outbounds[key]
        self._gateway.spawn(self._release(space_id, epoch))

    async def _release(self, space_id: SpaceId, epoch: int) -> None:
        with contextlib.suppress(LeasesUnavailable):
            await self._leases.release(lease_key(space_id), self.id, epoch)

    def _command(self, host: SpaceHost, gateway_id: str, user_id: UserId, frame: str) -> None:
        remote = host.connections.get(user_id)
        if not isinstance(remote, RemoteConnection) or remote.gateway != gateway_id:
            return
        if frame == REJECT_MOVE:
            host.reject_move(user_id)
            return
        try:
            command = decode(frame)
        except ProtocolError as error:
            log.warning("a bridge sent a command the host can't read: %s", error.message)
            return
        if isinstance(command, m.Leave):
            self._gateway.leave_host(host, remote)
        elif not isinstance(command, m.Join | m.Chat):
            self._gateway.apply(host, user_id, command)

    async def _take_handoff(self, message: Handoff) -> None:
        space_id = SpaceId(message.space_id)
        try:
            await self._gateway.adopt_handoff(message)
        finally:
            self.loaded(space_id)

    def remote(self, host: SpaceHost, gateway_id: str, seat: UserSeat) -> RemoteConnection:
        """A stand-in on `host` for `seat`, a user connected to `gateway_id`."""
        user_id = UserId(seat.user_id)
        return RemoteConnection(
            self.outbound(host, gateway_id),
            user_id,
            capabilities=frozenset(seat.capabilities),
            announce_capabilities=seat.announce_capabilities,
            principal=Principal(TokenUserId(user_id), "admin" if seat.is_admin else "user", ""),
        )

    async def hand_off(self, host: SpaceHost) -> bool:
        """Give a space hosted here to another live gateway whole, as this one stops: the
        one with most of its users, else the least loaded. False if there is none."""
        space_id = host.space_id
        routes = {
            str(user_id): (c.gateway if isinstance(c, RemoteConnection) else self.id)
            for user_id, c in host.connections.items()
        }
        live = set(await self._leases.reports()) - {self.id}
        counts: dict[str, int] = {}
        for gateway_id in routes.values():
            if gateway_id in live:
                counts[gateway_id] = counts.get(gateway_id, 0) + 1
        successor = max(counts, key=lambda g: (counts[g], g)) if counts else None
        successor = successor or await self._least_loaded(include_busier=True)
        if successor is None:
            return False
        lease = await self._leases.transfer(
            lease_key(space_id), self.id, host.epoch, successor, self._ttl_ms
        )
        if lease is None:
            return False
        seats = tuple(seat for _, seat in host.seats(everyone=True))
        snapshot = host.space.snapshot().to_dict()
        self._publish(successor, Handoff(space_id, self.id, lease.epoch, snapshot, seats, routes))
        for gateway_id in live - {successor}:
            self._publish(gateway_id, HostChanged(space_id, lease.epoch, successor, True))
        log.info("space %s handed to %s (epoch %d)", space_id, successor, lease.epoch)
        return True

    async def _host_on_request(self, space_id: SpaceId) -> None:
        lease = await self._leases.acquire(lease_key(space_id), self.id, self._ttl_ms)
        if lease.holder != self.id:
            return
        host = await self._gateway.load_host(space_id, lease.epoch)
        if host is None:
            return
        await asyncio.sleep(EMPTY_HOST_GRACE_S)
        if not host and self._gateway.hosts.get(space_id) is host:
            self._gateway.drop_host(space_id)

    # Loading a space here: messages for it wait.

    def loading(self, space_id: SpaceId) -> None:
        self._waiting.setdefault(space_id, [])

    def loaded(self, space_id: SpaceId) -> None:
        for message in self._waiting.pop(space_id, []):
            self._act(message)

    # Upkeep.

    async def _renew(self) -> None:
        gateway = self._gateway
        await self._leases.report(
            self.id,
            LoadReport(
                self.id, gateway.connected, self._capacity, round(gateway.clock.now() * 1000)
            ).to_bytes(),
            self._ttl_ms,
        )
        hosted = {lease_key(space_id): host.epoch for space_id, host in gateway.hosts.items()}
        if not hosted:
            return
        renewed = await self._leases.renew(hosted, self.id, self._ttl_ms)
        for key in hosted.keys() - renewed:
            await self._lost(SpaceId(key.removeprefix("space:")))

    async def _lost(self, space_id: SpaceId) -> None:
        """This gateway's lease on a space it hosts ran out (Redis was away, say)."""
        host = self._gateway.hosts.get(space_id)
        if host is None:
            return
        lease = await self._leases.acquire(lease_key(space_id), self.id, self._ttl_ms)
        if lease.holder == self.id:
            # Nobody took it meanwhile: go on, under the new epoch.
            host.epoch = lease.epoch
            for (hosted, _), outbound in self._outbounds.items():
                if hosted == space_id:
                    outbound.epoch = lease.epoch
            return
        log.warning("space %s is hosted by %s now; bridging to it", space_id, lease.holder)
        await self._gateway.step_down(host, lease)

    async def _watch(self) -> None:
        for space_id, bridge in list(self._gateway.bridges.items()):
            try:
                lease = await self._leases.holder(lease_key(space_id))
            except LeasesUnavailable:
                # Redis is away: the host can't be reached either. Its users here are told;
                # when it is back they are handed to whoever hosts the space then.
                for unreachable in self._gateway.bridges.values():
                    unreachable.connection_state("reconnecting")
                raise
            if self._gateway.bridges.get(space_id) is not bridge:
                continue
            now_s = asyncio.get_running_loop().time()
            if bridge.state == "reconnecting":
                bridge.connection_state("connected")
                # Redis may have come back empty: the host gets a lease's time to take its
                # lease again before anyone else does.
                bridge.patient_until_s = now_s + self._ttl_ms / 1000
                if lease is not None and (lease.holder, lease.epoch) == (bridge.host, bridge.epoch):
                    bridge.rehome(lease.holder, lease.epoch, calls_over=False)
                    continue
            if lease is None:
                if now_s < bridge.patient_until_s:
                    continue
                lease = await self._leases.acquire(lease_key(space_id), self.id, self._ttl_ms)
                if lease.holder == self.id:
                    await self._gateway.take_over(bridge, lease.epoch)
                    await self.announce(space_id, lease.epoch)
                    continue
            if lease.holder == self.id:
                continue  # handed to this gateway: the handoff brings its users over
            if (lease.holder, lease.epoch) != (bridge.host, bridge.epoch) and (
                lease.epoch > bridge.epoch
            ):
                bridge.rehome(lease.holder, lease.epoch)

    async def announce(self, space_id: SpaceId, epoch: int) -> None:
        """Tell every live gateway that this one hosts `space_id` now."""
        for gateway_id in await self._leases.reports():
            if gateway_id != self.id:
                self._publish(gateway_id, HostChanged(space_id, epoch, self.id))

    def _publish(self, gateway_id: str, message: GatewayMessage) -> None:
        for (_, destination), outbound in self._outbounds.items():
            if destination == gateway_id:
                outbound.linger.now()  # frames queued before it go first
        sent = self._gateway.pubsub.publish_soon(
            gateway_channel(gateway_id), encode_gateway(message)
        )
        sent.add_done_callback(_log_failure)


def _log_failure(sent: asyncio.Future[None]) -> None:
    if not sent.cancelled() and sent.exception() is not None:
        log.warning("a message for another gateway was lost: %s", sent.exception())
