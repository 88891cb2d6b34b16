"""The gateway's WebSocket server: handshake, an inbox and a writer per connection,
and the hosted spaces.

Paths `/` and `/ws` upgrade to WebSocket; `/healthz` and `/metrics` answer plain HTTP so
a gateway running alone can be probed and scraped on its own port.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from metaverse.accounts.ratelimit import TokenBucket
from metaverse.accounts.tokens import AccessTokens, InvalidToken
from metaverse.backends.eventlog import EventLog
from metaverse.backends.leases import Lease, Leases, LeasesUnavailable
from metaverse.backends.pubsub import GAP, PubSub
from metaverse.chat.pipeline import ChatPipeline, own_deliveries, space_channel
from metaverse.clock import Clock
from metaverse.core.config import SpaceConfig
from metaverse.core.geometry import Position, Rect
from metaverse.core.ids import CallId, SpaceId, UserId
from metaverse.core.maps import SpaceMap
from metaverse.core.snapshot import Snapshot
from metaverse.core.space import Space
from metaverse.gateway import connection as codes
from metaverse.gateway.bridge import SpaceBridge
from metaverse.gateway.chat import ChatRelay
from metaverse.gateway.cluster import Cluster
from metaverse.gateway.connection import Connection, Flusher
from metaverse.gateway.control import Controls
from metaverse.gateway.directory import Directory
from metaverse.gateway.host import Attendee, SpaceHost
from metaverse.gateway.metrics import GatewayMetrics
from metaverse.gateway.recorder import Recorder
from metaverse.gateway.remote import RemoteConnection
from metaverse.gateway.websocket import GatewaySocket
from metaverse.gateway.wire import CHAT, INTEREST, LIVE, SOCIAL, accepted_capabilities
from metaverse.protocol import frames
from metaverse.protocol import messages as m
from metaverse.protocol.codec import ProtocolError, decode, encode
from metaverse.protocol.control import CONTROL_CHANNEL
from metaverse.protocol.gateways import Handoff, UserSeat
from metaverse.settings import Settings

log = logging.getLogger(__name__)

WS_PATHS = ("/", "/ws")
# Frames waiting behind an awaited command (a join, a chat message) before the connection
# stops reading from its socket until they are done.
MAX_BACKLOG = 32
# How long a stopping gateway waits for its background writes (then cancels them).
STOP_GRACE_S = 5.0
WAVE_RATE_PER_S = 0.5
WAVE_BURST = 3
# How long a user whose gateway restarted stays in a space, waiting to come back.
PARK_GRACE_S = 30.0
# How much earlier than pub/sub's own loss a `chat-gap` starts: a message is published
# only once the event log has it, up to the log's append timeout (5 s) plus pub/sub's
# (5 s) after its timestamp.
CHAT_GAP_MARGIN_MS = 10_000
# Commands that await the database or the event log.
AWAITED = (m.Join, m.Chat)


def _viewport(viewport: m.Viewport | None) -> Rect | None:
    if viewport is None:
        return None
    return Rect(viewport.x, viewport.y, viewport.width, viewport.height)


class Gateway:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        access_tokens: AccessTokens,
        directory: Directory,
        event_log: EventLog,
        pubsub: PubSub,
        registry: CollectorRegistry,
        *,
        leases: Leases | None = None,
    ) -> None:
        """With `leases`, this gateway serves spaces together with the others on the same
        leases and pub/sub (see `gateway.cluster`); without, it serves them alone."""
        self.settings = settings
        self.clock = clock
        self.access_tokens = access_tokens
        self.directory = directory
        self.registry = registry
        self.event_log = event_log
        self.pubsub = pubsub
        self.hosts: dict[SpaceId, SpaceHost] = {}
        # Spaces hosted by another gateway that users connected here are in.
        self.bridges: dict[SpaceId, SpaceBridge] = {}
        self.connected = 0
        self._connections: set[Connection] = set()
        self._none_open = asyncio.Event()  # set when the last connection ended
        self.draining = False
        # Names this process in its chat deliveries, so that it skips its own (it has
        # delivered them to its own connections already).
        self.origin = f"{settings.service_id}/{secrets.token_hex(6)}"
        self._own_deliveries = own_deliveries(self.origin)
        self.chat = ChatRelay(
            ChatPipeline(event_log, pubsub, origin=self.origin),
            directory,
            clock,
            self.chat_space,
            radius_tiles=settings.chat_radius,
        )
        self.metrics = GatewayMetrics(registry)
        self.flusher = Flusher(settings.batch_tick_ms / 1000)
        self.recorder = Recorder(event_log, clock, self.metrics, service_id=settings.service_id)
        self.config = SpaceConfig(
            proximity_radius_tiles=settings.proximity_radius,
            proximity_leave_radius_tiles=settings.proximity_leave_radius,
            max_call_size=settings.max_call_size,
            interest_margin_tiles=settings.interest_margin,
        )
        self._frames_in = {
            model: self.metrics.frames_in.labels(name) for model, name in m.WIRE_NAMES.items()
        }
        self._loading: dict[SpaceId, asyncio.Future[SpaceHost | None]] = {}
        self._bridging: dict[SpaceId, asyncio.Future[SpaceBridge | None]] = {}
        # Spaces another gateway is handing over to this one, until they are hosted here.
        self._adopting: dict[SpaceId, asyncio.Future[None]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.controls = Controls(
            self.hosts,
            self._loading,
            directory,
            bridges=self.bridges,
            drop=self.drop_host,
            spawn=self._spawn,
        )
        self.cluster = (
            Cluster(
                self,
                leases,
                gateway_id=self.origin.replace(" ", "_"),
                ttl_s=settings.lease_ttl_s,
                load_threshold=settings.host_load_threshold,
                capacity=settings.gateway_capacity,
                linger_s=settings.gateway_linger_ms / 1000,
            )
            if leases is not None
            else None
        )

    # Serving.

    def origins(self) -> list[str | None] | None:
        if "*" in self.settings.ws_origins:
            return None
        return [*self.settings.web_origins(), *self.settings.ws_origins, None]

    @asynccontextmanager
    async def serving(self, host: str, port: int) -> AsyncIterator[Server]:
        """Listen on `host:port` until the context exits."""
        await self.pubsub.subscribe(CONTROL_CHANNEL)
        deliveries = asyncio.create_task(self._deliveries())
        if self.cluster is not None:
            await self.cluster.start()
        try:
            async with serve(
                self.handler,
                host,
                port,
                origins=self.origins(),  # type: ignore[arg-type]
                process_request=self.process_request,
                create_connection=GatewaySocket,
                max_size=m.MAX_FRAME_BYTES,
                ping_interval=self.settings.ping_interval_s,
                ping_timeout=self.settings.ping_interval_s,
                compression=None,
                close_timeout=codes.CLOSE_TIMEOUT_S,
                server_header=None,
            ) as server:
                try:
                    yield server
                finally:
                    await self.drain()
        finally:
            if self.cluster is not None:
                await self.cluster.stop()
            deliveries.cancel()
            # What was accepted is still written before the database goes (a status saved
            # in the background, say): a write cut off by the engine's disposal would leave
            # its connection to be closed by the garbage collector.
            _, late = await asyncio.wait([deliveries, *self._background], timeout=STOP_GRACE_S)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=STOP_GRACE_S)
            await self.recorder.drain()

    def process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | asyncio.Task[Response] | None:
        path = request.path.split("?", 1)[0]
        if path in WS_PATHS:
            return None
        if path == "/healthz":
            return connection.respond(HTTPStatus.OK, '{"status":"ok"}\n')
        if path == "/readyz":
            # Only this path awaits: websockets awaits what it is given back.
            return asyncio.ensure_future(self._readyz(connection))
        if path == "/metrics":
            body = generate_latest(self.registry)
            headers = Headers(
                [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))]
            )
            return Response(200, "OK", headers, body)
        return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")

    async def _readyz(self, connection: ServerConnection) -> Response:
        """200 while pub/sub answers a ping within 2 s, else 503: without it this gateway
        can neither deliver chat nor reach the other gateways."""
        try:
            await asyncio.wait_for(self.pubsub.ping(), 2.0)
        except Exception:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, '{"status":"unavailable"}\n')
        return connection.respond(HTTPStatus.OK, '{"status":"ok"}\n')

    async def handler(self, websocket: ServerConnection) -> None:
        assert isinstance(websocket, GatewaySocket)
        connection = Connection(
            websocket,
            outbox_frames=self.settings.outbox_frames,
            flusher=self.flusher,
            on_overflow=self._overflowed,
        )
        inbox = Inbox(self, connection, websocket)
        self.metrics.connections.inc()
        self.connected += 1
        self._connections.add(connection)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(connection.writer())
                try:
                    await inbox.run()
                finally:
                    inbox.detach()
                    if connection.expiry is not None:
                        connection.expiry.cancel()
                    self._leave(connection)
                    connection.finish()
        finally:
            self.metrics.connections.dec()
            self.connected -= 1
            self._connections.discard(connection)
            if not self._connections:
                self._none_open.set()

    # Commands.

    def act(
        self,
        connection: Connection,
        message: m.ClientMessage,
        moves: TokenBucket,
        waves: TokenBucket | None = None,
    ) -> None:
        """A command that needs no awaiting: done before the next frame is read."""
        user_id, space_id = connection.user_id, connection.space_id
        if user_id is None or space_id is None:
            raise ProtocolError("not_joined", "join a space first")
        if isinstance(message, m.Viewport) and INTEREST not in connection.capabilities:
            raise ProtocolError("no_capability", "viewport needs the interest capability")
        if isinstance(message, m.Leave):
            self._leave(connection)
            return
        if isinstance(message, m.Wave):
            if SOCIAL not in connection.capabilities:
                raise ProtocolError("no_capability", "wave needs the social capability")
            if waves is not None and waves.try_acquire() > 0:
                raise ProtocolError("rate_limited", "too many waves; wait a little")
        refused = isinstance(message, m.Move) and moves.try_acquire() > 0
        host = self.hosts.get(space_id)
        if host is None:
            bridge = self.bridges[space_id]
            if refused:
                bridge.reject_move(connection)
            else:
                bridge.forward(connection, message)
            return
        if refused:
            host.reject_move(user_id)
            return
        if isinstance(message, m.SetStatus):
            self._save_status(user_id, message.status, message.text or "")
        self.apply(host, user_id, message)

    def apply(self, host: SpaceHost, user_id: UserId, message: m.ClientMessage) -> None:
        """A checked command of someone in `host`'s space, connected here or elsewhere."""
        match message:
            case m.Move():
                host.move(user_id, message.x, message.y)
            case m.Signal():
                host.signal(user_id, message.to, message.data)
            case m.MediaState():
                host.media_state(user_id, message.audio, message.video, message.screen)
            case m.SetStatus():
                host.set_status(user_id, message.status, message.text or "")
            case m.Viewport():
                host.set_viewport(user_id, _viewport(message))
            case m.Wave():
                host.wave(user_id, message.to)

    def _save_status(self, user_id: UserId, status: str, text: str) -> None:
        self._spawn(self.directory.save_status(user_id, status, text))

    async def act_awaited(
        self, connection: Connection, message: m.Join | m.Chat, chats: TokenBucket
    ) -> None:
        """A command that awaits the database or the event log; later frames wait for it."""
        if isinstance(message, m.Join):
            await self._join(connection, message)
            return
        await self.chat.send(self._chat_host(connection), connection, message, chats)

    def start_chat(self, connection: Connection, message: m.Chat, chats: TokenBucket) -> bool:
        """Start sending a chat message if that needs no waiting; False if it does."""
        return self.chat.send_now(self._chat_host(connection), connection, message, chats)

    def _chat_host(self, connection: Connection) -> SpaceHost | SpaceBridge:
        space_id = connection.space_id
        if connection.user_id is None or space_id is None:
            raise ProtocolError("not_joined", "join a space first")
        if CHAT not in connection.capabilities:
            raise ProtocolError("no_capability", "chat needs the chat capability")
        space = self.chat_space(space_id)
        assert space is not None
        return space

    def chat_space(self, space_id: SpaceId) -> SpaceHost | SpaceBridge | None:
        """The space as chat sees it here: hosted, or bridged."""
        return self.hosts.get(space_id) or self.bridges.get(space_id)

    async def _join(self, connection: Connection, message: m.Join) -> None:
        if connection.joined:
            raise ProtocolError("already_joined", "this connection has joined a space already")
        started_s = asyncio.get_running_loop().time()
        if self.draining:
            self._refuse(
                connection, "restarting", "this gateway is restarting", codes.CLOSE_RESTART
            )
            return
        try:
            principal = self.access_tokens.verify(message.token)
        except InvalidToken:
            self._refuse(
                connection,
                "invalid_token",
                "the token is invalid or expired",
                codes.CLOSE_INVALID_TOKEN,
            )
            return
        access, profile = await self.directory.admission(message.space_id, principal)
        if access is None:
            self._refuse(
                connection, "unknown_space", "no space has that id", codes.CLOSE_UNKNOWN_SPACE
            )
            return
        if not access:
            self._refuse(connection, "forbidden", "this space is private", codes.CLOSE_FORBIDDEN)
            return
        if profile is None:
            self._refuse(
                connection,
                "invalid_token",
                "the account no longer exists",
                codes.CLOSE_INVALID_TOKEN,
            )
            return
        if profile.disabled:
            self._refuse_disabled(connection)
            return
        principal = principal.with_stored_role(profile.role)
        space_id = SpaceId(message.space_id)
        place: SpaceHost | SpaceBridge | None
        if self.cluster is None:
            place = await self._host(space_id)
        elif (known := self.chat_space(space_id)) is not None:
            place = known  # hosted or bridged here already: no need to ask Redis who hosts it
        else:
            lease = await self.cluster.place(space_id)
            if lease.holder == self.cluster.id:
                place = await self.load_host(space_id, lease.epoch)
            else:
                place = await self._bridge(space_id, lease)
        if place is None or connection.closing:
            self._refuse(
                connection, "unknown_space", "no space has that id", codes.CLOSE_UNKNOWN_SPACE
            )
            return
        if self.controls.disabled_since(UserId(principal.user_id), started_s):
            self._refuse_disabled(connection)  # while this join read the database
            return
        connection.accept(frozenset(accepted_capabilities(message.capabilities)))
        connection.principal = principal
        if principal.is_guest and principal.expires_at is not None:
            # A guest's visit ends with their token: there is no refreshing it.
            connection.expiry = asyncio.get_running_loop().call_later(
                max(0.0, principal.expires_at - self.clock.now()),
                self._visit_over,
                connection,
            )
        connection.announce_capabilities = "capabilities" in message.model_fields_set
        viewport = _viewport(message.viewport) if INTEREST in connection.capabilities else None
        at = Position(message.resume.x, message.resume.y) if message.resume is not None else None
        if isinstance(place, SpaceBridge):
            place.attach(
                connection,
                UserSeat(
                    user_id=principal.user_id,
                    profile=profile.wire(),
                    status=profile.status,
                    status_text=profile.status_text,
                    capabilities=tuple(sorted(connection.capabilities)),
                    announce_capabilities=connection.announce_capabilities,
                    is_admin=principal.is_admin,
                    viewport=(
                        (viewport.x, viewport.y, viewport.width, viewport.height)
                        if viewport is not None
                        else None
                    ),
                    at=(at.x, at.y) if at is not None else None,
                ),
            )
            return
        place.join(
            connection,
            UserId(principal.user_id),
            profile=profile.wire(),
            status=profile.status,
            status_text=profile.status_text,
            viewport=viewport,
            at=at,
        )

    async def load_host(self, space_id: SpaceId, epoch: int) -> SpaceHost | None:
        """Host `space_id` here under the lease's `epoch` (loaded once); None if it is gone
        (then the lease is let go)."""
        assert self.cluster is not None
        adopting = self._adopting.get(space_id)
        if adopting is not None:  # handed over from its host: taken as it was
            await asyncio.shield(adopting)
            if space_id in self.hosts:
                return self.hosts[space_id]
        bridge = self.bridges.get(space_id)
        if bridge is not None:  # its users connected here stay: they move to the host
            await self.take_over(bridge, epoch)
            return self.hosts.get(space_id)
        host = await self._host(space_id, epoch)
        if host is None:
            self.cluster.forget_host(space_id, epoch)
        return host

    async def _host(self, space_id: SpaceId, epoch: int = 0) -> SpaceHost | None:
        host = self.hosts.get(space_id)
        if host is not None:
            return host
        pending = self._loading.get(space_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[SpaceHost | None] = asyncio.get_running_loop().create_future()
        self._loading[space_id] = future
        if self.cluster is not None:
            self.cluster.loading(space_id)  # what other gateways send for it waits
        try:
            space_map = await self.directory.space_map(space_id)
            host = None
            if space_map is not None:
                # Call ids must never repeat, also after the space is dropped and reloaded.
                prefix = secrets.token_hex(4)
                # Spawns differ per load too: gateways hosting the same space must not put
                # their n-th arrivals on the same cell.
                config = dataclasses.replace(self.config, spawn_seed=prefix)
                space = Space(space_map, config=config, call_ids=lambda n: CallId(f"{prefix}-{n}"))
                host = SpaceHost(space_id, space, self.metrics, self.recorder.record, epoch=epoch)
                await self.pubsub.subscribe(space_channel(space_id))
                if space_id in self.controls.deleted_while_loading:
                    host = None  # deleted while it was read: it never goes live
                    await self.pubsub.unsubscribe(space_channel(space_id))
                else:
                    self.hosts[space_id] = host
            future.set_result(host)
            return host
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # those waiting re-raise it; nobody waiting is fine too
            raise
        finally:
            del self._loading[space_id]
            if self.cluster is not None:
                self.cluster.loaded(space_id)

    def _leave(self, connection: Connection) -> None:
        space_id = connection.space_id
        if space_id is None:
            return
        host = self.hosts.get(space_id)
        if host is not None:
            self.leave_host(host, connection)
            return
        bridge = self.bridges.get(space_id)
        if bridge is not None:
            bridge.detach(connection)
            self.forget_bridge_if_empty(bridge)

    def leave_host(self, host: SpaceHost, connection: Attendee) -> None:
        host.leave(connection)
        if not host and self.hosts.get(host.space_id) is host:
            # Nobody left: drop the space; the next join loads it afresh from the database.
            self.drop_host(host.space_id)

    def drop_host(self, space_id: SpaceId) -> None:
        """Forget a hosted space (its users are gone or being closed)."""
        host = self.hosts.pop(space_id)
        self.metrics.users.remove(space_id)
        if self.cluster is not None:
            self.cluster.forget_host(space_id, host.epoch)
        if space_id not in self.bridges:
            self._spawn(self.pubsub.unsubscribe(space_channel(space_id)))

    # Spaces hosted elsewhere.

    async def _bridge(self, space_id: SpaceId, lease: Lease) -> SpaceBridge | None:
        bridge = self.bridges.get(space_id)
        if bridge is not None:
            return bridge
        pending = self._bridging.get(space_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[SpaceBridge | None] = asyncio.get_running_loop().create_future()
        self._bridging[space_id] = future
        try:
            space_map = await self.directory.space_map(space_id)
            if space_map is not None and space_id not in self.hosts:
                assert self.cluster is not None
                bridge = self._new_bridge(space_id, space_map, lease.holder, lease.epoch)
                await self.pubsub.subscribe(space_channel(space_id))
            future.set_result(bridge)
            return bridge
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            del self._bridging[space_id]

    def _new_bridge(
        self, space_id: SpaceId, space_map: SpaceMap, host: str, epoch: int
    ) -> SpaceBridge:
        assert self.cluster is not None
        bridge = SpaceBridge(
            space_id,
            space_map,
            gateway=self.cluster.id,
            host=host,
            epoch=epoch,
            pubsub=self.pubsub,
            linger_s=self.settings.gateway_linger_ms / 1000,
            on_save_status=self._save_status,
        )
        self.bridges[space_id] = bridge
        return bridge

    def forget_bridge_if_empty(self, bridge: SpaceBridge) -> None:
        space_id = bridge.space_id
        if bridge or self.bridges.get(space_id) is not bridge:
            return
        del self.bridges[space_id]
        if space_id not in self.hosts:
            self._spawn(self.pubsub.unsubscribe(space_channel(space_id)))

    async def take_over(self, bridge: SpaceBridge, epoch: int) -> None:
        """Host a space this gateway bridged (its host is gone): rebuilt from the database,
        with the users here where they stood; the other gateways' users follow (`Resync`)."""
        space_id = bridge.space_id
        host = await self._host(space_id, epoch)
        if self.bridges.get(space_id) is not bridge:
            # Another take-over of this bridge (a join here, the lease check) came first
            # and moved its users; joining them again would replace them (4009).
            return
        del self.bridges[space_id]
        if host is None:
            bridge.close_all("unknown_space", "no space has that id", codes.CLOSE_UNKNOWN_SPACE)
            return
        host.epoch = epoch
        bridge.calls_ended()
        for connection, seat in bridge.seats():
            connection.user_id = connection.space_id = None
            host.join_seat(connection, seat)
        log.info("gateway %s hosts space %s now (epoch %d)", self.origin, space_id, epoch)

    async def adopt_handoff(self, message: Handoff) -> None:
        """Host a space another gateway handed over as it stops: its core state as it
        was, everyone routed to where they are connected; its own users wait (parked) to
        come back through another gateway."""
        assert self.cluster is not None
        space_id = SpaceId(message.space_id)
        adopted = self._adopting[space_id] = asyncio.get_running_loop().create_future()
        try:
            await self._adopt(message)
        finally:
            del self._adopting[space_id]
            adopted.set_result(None)

    async def _adopt(self, message: Handoff) -> None:
        assert self.cluster is not None
        space_id = SpaceId(message.space_id)
        space_map = await self.directory.space_map(space_id)
        if space_id in self.hosts:  # hosted here already, under this lease
            return
        if space_map is None:  # deleted meanwhile
            self.cluster.forget_host(space_id, message.epoch)
            return
        prefix = secrets.token_hex(4)
        space = Space.from_snapshot(
            space_map,
            Snapshot.from_dict(message.snapshot),
            config=dataclasses.replace(self.config, spawn_seed=prefix),
            call_ids=lambda n: CallId(f"{prefix}-{n}"),
        )
        host = SpaceHost(space_id, space, self.metrics, self.recorder.record, epoch=message.epoch)
        bridge = self.bridges.pop(space_id, None)
        here = {UserId(seat.user_id): (c, seat) for c, seat in bridge.seats()} if bridge else {}
        self.hosts[space_id] = host
        if bridge is None:
            await self.pubsub.subscribe(space_channel(space_id))
        gone = []
        for seat in message.seats:
            user_id = UserId(seat.user_id)
            route = message.routes.get(seat.user_id, message.gateway)
            attendee: Attendee
            if route == self.cluster.id:
                found = here.pop(user_id, None)
                if found is None:  # left meanwhile
                    gone.append(user_id)
                    continue
                attendee = found[0]
            else:
                attendee = self.cluster.remote(host, route, seat)
            host.adopt(
                attendee,
                user_id,
                profile=seat.profile,
                status=seat.status,
                status_text=seat.status_text,
            )
            if route == message.gateway and isinstance(attendee, RemoteConnection):
                self.park(host, attendee)
        for user_id in gone:
            host._apply(host.space.leave(user_id))
        for connection, seat in here.values():  # arrived after the handoff was sent
            connection.user_id = connection.space_id = None
            host.join_seat(connection, seat)
        log.info("gateway %s took space %s over (epoch %d)", self.origin, space_id, message.epoch)

    def park(self, host: SpaceHost, remote: RemoteConnection) -> None:
        """`remote`'s gateway restarts: keep them in the space for PARK_GRACE_S."""
        remote.park()
        asyncio.get_running_loop().call_later(PARK_GRACE_S, self._unpark, host, remote)

    def _unpark(self, host: SpaceHost, remote: RemoteConnection) -> None:
        user_id = remote.user_id
        if remote.parked and user_id is not None and host.connections.get(user_id) is remote:
            self.leave_host(host, remote)

    async def drain(self) -> None:
        """Stopping: hand every space hosted here to another live gateway, let the spaces
        bridged here keep this gateway's users a while, then close every connection with
        1012 (service restart) so that clients reconnect at once elsewhere, and resume."""
        self.draining = True
        cluster = self.cluster
        if cluster is not None:
            for space_id, host in list(self.hosts.items()):
                try:
                    handed = await asyncio.wait_for(
                        cluster.hand_off(host), self.settings.drain_timeout_s
                    )
                except (LeasesUnavailable, TimeoutError):
                    handed = False
                if handed and self.hosts.get(space_id) is host:
                    self.hosts.pop(space_id)
                    self.metrics.users.remove(space_id)
                    cluster.forget_host(space_id, host.epoch)
                    for attendee in host.connections.values():
                        attendee.user_id = attendee.space_id = None
            for bridge in list(self.bridges.values()):
                bridge.park_all()
        if not self._connections:
            return
        self._none_open.clear()
        for connection in list(self._connections):
            connection.close(codes.CLOSE_RESTART, "service restart")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._none_open.wait(), codes.CLOSE_TIMEOUT_S)

    async def step_down(self, host: SpaceHost, lease: Lease) -> None:
        """Another gateway holds the lease of a space hosted here: bridge to it."""
        space_id = host.space_id
        space_map = await self.directory.space_map(space_id)
        if self.hosts.get(space_id) is not host:
            return
        seats = [(c, seat) for c, seat in host.seats() if isinstance(c, Connection)]
        self.hosts.pop(space_id)
        self.metrics.users.remove(space_id)
        assert self.cluster is not None
        self.cluster.forget_host(space_id, host.epoch)
        for connection in host.connections.values():
            if not isinstance(connection, Connection):
                connection.closing = True  # their own gateway resynchronises them
        if space_map is None or not seats:
            for connection, _ in seats:
                connection.close(codes.CLOSE_UNKNOWN_SPACE, "no space has that id")
            return
        bridge = self._new_bridge(space_id, space_map, lease.holder, host.epoch)
        for connection, seat in seats:
            bridge.adopt(connection, seat)
        bridge.rehome(lease.holder, lease.epoch)

    async def _deliveries(self) -> None:
        """Chat for the spaces hosted here, and control messages, from pub/sub."""
        own = self._own_deliveries
        async for channel, data in self.pubsub.messages():
            if data.startswith(own):
                continue
            if self.cluster is not None and channel == self.cluster.channel:
                self.cluster.receive(data)
            elif channel == CONTROL_CHANNEL:
                self.controls.receive(data)
            elif channel == GAP:
                self._gap(int(data))
            else:
                space = self.chat_space(SpaceId(channel.removeprefix("space:")))
                if space is not None:
                    self.chat.deliver(space, data)

    def _gap(self, missed_ms: int) -> None:
        """Pub/sub lost messages of the last `missed_ms`: the spaces bridged here hand their
        users to their host again (who tells each where everyone is now), and chat clients
        are told from when, so that they fetch what they missed from history."""
        for bridge in self.bridges.values():
            bridge.rehome(bridge.host, bridge.epoch, calls_over=False)
        since_ms = round(self.clock.now() * 1000) - missed_ms - CHAT_GAP_MARGIN_MS
        frame = encode(frames.CHAT_GAP, {"since": since_ms})
        spaces: list[SpaceHost | SpaceBridge] = [*self.hosts.values(), *self.bridges.values()]
        for space in spaces:
            for connection in space.connections.values():
                if (
                    isinstance(connection, Connection)
                    and CHAT in connection.capabilities
                    and LIVE in connection.capabilities
                ):
                    connection.send(frame)

    def _overflowed(self) -> None:
        self.metrics.outbox_drops.inc()
        self.metrics.closed.labels("slow").inc()

    # Frames.

    def decode(self, data: str | bytes) -> m.ClientMessage:
        """A client frame as a command (counted by type), or `ProtocolError`."""
        message = decode(data)
        self._frames_in[type(message)].inc()
        return message

    def refuse_frame(self, connection: Connection, error: ProtocolError) -> None:
        """Answer a frame that can't be acted on; the connection stays open. A chat
        message with a `clientId` is answered as chat messages are, with `chat-error`."""
        self.metrics.frames_in.labels("invalid").inc()
        if error.client_id is not None and connection.joined and CHAT in connection.capabilities:
            self.chat.refuse(connection, error.client_id, error.code, error.message)
        else:
            self._error(connection, error.code, error.message)

    # Replies.

    def _error(self, connection: Connection, code: str, message: str) -> None:
        connection.send(encode(frames.ERROR, {"code": code, "message": message}))

    def _refuse_disabled(self, connection: Connection) -> None:
        self._refuse(
            connection, "account_disabled", "this account was disabled", codes.CLOSE_INVALID_TOKEN
        )

    def _visit_over(self, connection: Connection) -> None:
        """A guest's token ran out while they were in the space."""
        self._refuse(
            connection,
            "invalid_token",
            "the guest visit is over: the token expired",
            codes.CLOSE_INVALID_TOKEN,
        )

    def _refuse(self, connection: Connection, code: str, message: str, close_code: int) -> None:
        self._error(connection, code, message)
        self.metrics.closed.labels(code).inc()
        connection.close(close_code, message)

    def spawn(self, coroutine: Any) -> None:
        """Run `coroutine` in the background; a stopping gateway waits for it."""
        self._spawn(coroutine)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


class Inbox:
    """One connection's incoming frames, acted on as websockets parses them.

    Commands that need no awaiting (moves above all) run at once, inside the socket's
    `data_received`. A command that awaits (join, chat) goes to the backlog, which `run`
    works through in order; frames arriving meanwhile queue behind it, so a connection's
    commands still take effect in the order they were sent. A backlog of MAX_BACKLOG
    frames pauses reading from the socket until it is worked off.
    """

    def __init__(self, gateway: Gateway, connection: Connection, socket: GatewaySocket) -> None:
        settings, clock = gateway.settings, gateway.clock
        self.gateway = gateway
        self.connection = connection
        self.socket = socket
        self.frames = TokenBucket(
            rate_per_s=settings.frame_rate_per_s, burst=settings.frame_burst, clock=clock
        )
        self.chats = TokenBucket(
            rate_per_s=settings.chat_rate_per_s, burst=settings.chat_burst, clock=clock
        )
        # Waves call someone over, with a sound: a few at once, then one every 2 s.
        self.waves = TokenBucket(rate_per_s=WAVE_RATE_PER_S, burst=WAVE_BURST, clock=clock)
        self.moves = TokenBucket(
            rate_per_s=settings.move_rate_per_s,
            burst=max(1, round(settings.move_rate_per_s)),
            clock=clock,
        )
        # Frames (text, or decoded when they were awaited commands) not acted on yet.
        self.backlog: deque[str | bytes | m.ClientMessage] = deque()
        self.wake = asyncio.Event()
        self.lost = False
        self.paused = False
        socket.attach(self.feed, self._lost)

    def detach(self) -> None:
        self.socket.detach()

    def _lost(self) -> None:
        self.lost = True
        self.wake.set()

    def feed(self, data: str | bytes) -> None:
        """One frame from the socket (called from `data_received`)."""
        connection = self.connection
        if connection.closing:
            self.wake.set()  # the reader is done: the user leaves
            return
        if self.frames.try_acquire() > 0:
            self.gateway.metrics.closed.labels("flood").inc()
            connection.close(codes.CLOSE_POLICY, "too many frames")
            self.wake.set()
            return
        backlog = self.backlog
        if backlog:
            backlog.append(data)
            if len(backlog) >= MAX_BACKLOG and not self.paused:
                self.paused = True
                self.socket.transport.pause_reading()
            return
        try:
            message = self.gateway.decode(data)
            if not isinstance(message, AWAITED):
                self.gateway.act(connection, message, self.moves, self.waves)
            elif not (
                isinstance(message, m.Chat)
                and self.gateway.start_chat(connection, message, self.chats)
            ):
                backlog.append(message)
                self.wake.set()
        except ProtocolError as error:
            self.gateway.refuse_frame(connection, error)
        except Exception:
            self._fault()

    async def run(self) -> None:
        """Work through the backlog until the socket closes or the connection is closing."""
        connection, backlog, gateway = self.connection, self.backlog, self.gateway
        while not (self.lost or connection.closing):
            await self.wake.wait()
            self.wake.clear()
            while backlog and not (self.lost or connection.closing):
                item = backlog[0]  # stays queued while awaited: later frames queue behind
                try:
                    message = gateway.decode(item) if isinstance(item, str | bytes) else item
                    if isinstance(message, AWAITED):
                        await gateway.act_awaited(connection, message, self.chats)
                    else:
                        gateway.act(connection, message, self.moves, self.waves)
                except ProtocolError as error:
                    gateway.refuse_frame(connection, error)
                except Exception:
                    self._fault()
                backlog.popleft()
            if self.paused and not backlog and not self.lost:
                self.paused = False
                self.socket.transport.resume_reading()

    def _fault(self) -> None:
        """A bug: this connection ends (1011); the gateway and everyone else go on."""
        log.exception("handling a frame failed")
        self.connection.close(codes.CLOSE_INTERNAL, "internal error")
        self.wake.set()
