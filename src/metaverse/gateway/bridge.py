"""A space hosted by another gateway, as seen by a gateway with users in it.

The bridge forwards its users' commands to the host (`Attach`, `Commands`, `Detach`) and
delivers the host's frames to them: the host has applied the core, the capabilities and
the area of interest; the bridge's connections do the outboxes, batching and writing.

It also keeps what it knows of its own users (`BridgeView`): where they stand (their own
moves, corrected by `movement-rejected`), their status, viewport and call. Chat needs that
(a `nearby` message's routing, who here hears one), and so does a new host: when the host
changes, the bridge hands its users over again with `Resync`, each where they stood.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Callable
from typing import Any, Final

from metaverse.backends.pubsub import PubSub
from metaverse.core.areas import Area, AreaIndex
from metaverse.core.geometry import Position
from metaverse.core.ids import CallId, SpaceId, UserId
from metaverse.core.maps import SpaceMap
from metaverse.gateway.connection import Connection
from metaverse.gateway.linger import Linger
from metaverse.gateway.wire import LIVE, PROXIMITY
from metaverse.protocol import frames
from metaverse.protocol import messages as m
from metaverse.protocol.codec import encode, loads
from metaverse.protocol.gateways import (
    Attach,
    Commands,
    Detach,
    GatewayMessage,
    Resync,
    UserSeat,
    encode_gateway,
    gateway_channel,
)

log = logging.getLogger(__name__)

REJECT_MOVE: Final = '{"type":"reject-move","payload":{}}'
# Frames about the bridge's own users that change what it knows of them.
_TRACKED: Final = frozenset(
    {
        frames.SPACE_JOINED,
        frames.MOVEMENT_REJECTED,
        frames.STATUS,
        frames.PROFILE,
        frames.CALL_JOINED,
        frames.CALL_PEER_JOINED,
        frames.CALL_PEER_LEFT,
        frames.CALL_LEFT,
    }
)
# How `Encoder.space_joined` starts a frame: the spawn, before the list of everyone.
_SPAWN: Final = re.compile(
    r'\{"type":"' + frames.SPACE_JOINED + r'","payload":\{"spawn":\{"x":(\d+),"y":(\d+)\}'
)
# How a movement frame starts: the bulk of what a bridge delivers, never tracked.
_MOVEMENT_HEAD: Final = '{"type":"' + frames.MOVEMENT + '"'


def command_text(message: m.ClientMessage) -> str:
    """A checked client command as the host decodes it again."""
    if isinstance(message, m.Move):
        return f'{{"type":"move","payload":{{"x":{message.x},"y":{message.y}}}}}'
    payload = message.model_dump(by_alias=True, exclude_none=True)
    return encode(m.WIRE_NAMES[type(message)], payload)


class LocalUser:
    __slots__ = ("call", "connection", "peers", "position", "seat", "status", "text", "viewport")

    def __init__(self, connection: Connection, seat: UserSeat) -> None:
        self.connection = connection
        self.seat = seat
        self.position: Position | None = Position(*seat.at) if seat.at is not None else None
        self.status = seat.status
        self.text = seat.status_text
        self.viewport = seat.viewport
        self.call: CallId | None = None
        self.peers: set[UserId] = set()


class BridgeView:
    """The `Space` queries chat asks, answered for the bridge's own users."""

    def __init__(self, users: dict[UserId, LocalUser], areas: AreaIndex) -> None:
        self._users = users
        self._areas = areas

    def __contains__(self, user: object) -> bool:
        return user in self._users and self._users[user].position is not None  # type: ignore[index]

    def position(self, user: UserId) -> Position:
        position = self._users[user].position
        if position is None:
            raise KeyError(user)
        return position

    def status(self, user: UserId) -> tuple[str, str]:
        local = self._users[user]
        return local.status, local.text

    def call_of(self, user: UserId) -> CallId | None:
        return self._users[user].call

    def call_members(self, call_id: CallId) -> tuple[UserId, ...]:
        for user_id, local in self._users.items():
            if local.call == call_id:
                return tuple(sorted({user_id, *local.peers}))
        return ()

    def areas_of(self, user: UserId) -> tuple[Area, ...]:
        return self._areas.at(self.position(user))

    def users_near(self, x: int, y: int, radius_tiles: float) -> list[UserId]:
        return [
            user_id
            for user_id, local in self._users.items()
            if local.position is not None and math.dist((x, y), local.position) <= radius_tiles
        ]


class SpaceBridge:
    def __init__(
        self,
        space_id: SpaceId,
        space_map: SpaceMap,
        *,
        gateway: str,
        host: str,
        epoch: int,
        pubsub: PubSub,
        linger_s: float,
        on_save_status: Callable[[UserId, str, str], None] = lambda *_: None,
    ) -> None:
        self.space_id = space_id
        self.gateway = gateway
        self.host = host
        self.epoch = epoch
        self._pubsub = pubsub
        # Commands on their way to the host, sent together (see `Linger`).
        self._commands: list[tuple[str, str]] = []
        self._linger = Linger(self._send_commands, linger_s)
        self._users: dict[UserId, LocalUser] = {}
        self.connections: dict[UserId, Connection] = {}
        self.space = BridgeView(
            self._users, AreaIndex(space_map.areas, space_map.width, space_map.height)
        )
        self._on_save_status = on_save_status
        self.state = "connected"  # or "reconnecting": the host can't be reached
        self.patient_until_s = 0.0  # no taking the space over before then (loop time)

    def __len__(self) -> int:
        return len(self.connections)

    def profile(self, user_id: UserId) -> dict[str, Any]:
        local = self._users.get(user_id)
        return local.seat.profile if local is not None else {}

    # Commands from this gateway's users.

    def attach(self, connection: Connection, seat: UserSeat) -> None:
        user_id = UserId(seat.user_id)
        previous = self.connections.get(user_id)
        if previous is not None and previous is not connection:
            # The host replaces it (`replaced`) and says so; it is no longer routed here.
            previous.user_id = previous.space_id = None
        connection.user_id, connection.space_id = user_id, self.space_id
        self.connections[user_id] = connection
        self._users[user_id] = LocalUser(connection, seat)
        self._send(Attach(self.space_id, self.gateway, seat))

    def adopt(self, connection: Connection, seat: UserSeat) -> None:
        """A user of this gateway who was in the space when it was hosted here."""
        user_id = UserId(seat.user_id)
        connection.user_id, connection.space_id = user_id, self.space_id
        self.connections[user_id] = connection
        self._users[user_id] = LocalUser(connection, seat)

    def set_role(self, user_id: UserId, role: str) -> None:
        """A user here was promoted or demoted: a new host takes them over as such."""
        local = self._users.get(user_id)
        if local is not None:
            local.seat = dataclasses.replace(local.seat, is_admin=role == "admin")
            if local.connection.principal is not None:
                local.connection.principal = local.connection.principal.with_stored_role(role)

    def forward(self, connection: Connection, message: m.ClientMessage) -> None:
        user_id = connection.user_id
        assert user_id is not None
        local = self._users[user_id]
        if isinstance(message, m.Move):
            local.position = Position(message.x, message.y)  # the host corrects a refusal
        elif isinstance(message, m.Viewport):
            local.viewport = (message.x, message.y, message.width, message.height)
        elif isinstance(message, m.SetStatus):
            local.status, local.text = message.status, message.text or ""
            self._on_save_status(user_id, local.status, local.text)
        self._command(user_id, command_text(message))

    def reject_move(self, connection: Connection) -> None:
        assert connection.user_id is not None
        self._command(connection.user_id, REJECT_MOVE)

    def detach(self, connection: Connection) -> None:
        user_id = connection.user_id
        connection.user_id = connection.space_id = None
        connection.on_sender = None
        if user_id is None or self.connections.get(user_id) is not connection:
            return
        del self.connections[user_id]
        del self._users[user_id]
        self._send(Detach(self.space_id, self.gateway, user_id))

    def park_all(self) -> None:
        """This gateway stops: its users stay in the space, to come back through another
        gateway (`Detach` with `resume`)."""
        for user_id, connection in list(self.connections.items()):
            connection.user_id = connection.space_id = None
            connection.on_sender = None
            self._send(Detach(self.space_id, self.gateway, user_id, resume=True))
        self.connections.clear()
        self._users.clear()

    # What the host sends.

    def deliver(self, items: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        connections = self.connections
        for frame, recipients in items:
            if not frame.startswith(_MOVEMENT_HEAD):
                self._track(frame, recipients)
            for connection in filter(None, map(connections.get, recipients)):  # type: ignore[arg-type]
                connection.send(frame)

    def close(self, user_id: UserId, code: int, reason: str) -> None:
        connection = self.connections.get(user_id)
        if connection is None:
            return
        del self.connections[user_id]
        self._users.pop(user_id, None)
        connection.user_id = connection.space_id = None
        connection.on_sender = None
        connection.close(code, reason)

    def remove(self, user_id: UserId, code: str, message: str, close_code: int) -> None:
        """Tell one user why (`error {code}`) and close their connection; it leaves the
        space (`Detach`) as any closed connection does."""
        connection = self.connections.get(user_id)
        if connection is not None:
            connection.send(encode(frames.ERROR, {"code": code, "message": message}))
            connection.close(close_code, message)

    def close_all(self, code: str, message: str, close_code: int) -> None:
        frame = encode(frames.ERROR, {"code": code, "message": message})
        for user_id in list(self.connections):
            self.connections[user_id].send(frame)
            self.close(user_id, close_code, message)

    def _track(self, frame: str, recipients: tuple[str, ...]) -> None:
        kind = frame[9 : frame.find('"', 9)]
        if kind not in _TRACKED:
            return
        if kind == frames.SPACE_JOINED and (spawn := _SPAWN.match(frame)) is not None:
            # Where they stand is at its head: no need to parse the list of everyone.
            at = Position(int(spawn[1]), int(spawn[2]))
            for user_id in recipients:
                if (local := self._users.get(UserId(user_id))) is not None:
                    local.position = at
            return
        payload: dict[str, Any] = loads(frame)["payload"]
        for user_id in recipients:
            local = self._users.get(UserId(user_id))
            if local is not None:
                _apply(local, UserId(user_id), kind, payload)

    # A new host.

    def rehome(self, host: str, epoch: int, *, calls_over: bool = True) -> None:
        """The space has a new host: the calls of the old one are over (`call-left`), and
        the bridge's users go to the new one where they stood. Without `calls_over`, the
        host is the same and lost touch with the bridge a while: it tells each user afresh
        where everyone is and who is in their call."""
        self._linger.now()  # what was meant for the old host goes there
        self.host, self.epoch = host, epoch
        if calls_over:
            self.calls_ended()
        seats = tuple(seat for _, seat in self.seats())
        self._send(Resync(self.space_id, self.gateway, epoch, seats))

    def seats(self) -> list[tuple[Connection, UserSeat]]:
        """The bridge's users as a host takes them over, where they stand."""
        return [
            (
                local.connection,
                _with_state(
                    local.seat,
                    local,
                    (local.position.x, local.position.y) if local.position is not None else None,
                ),
            )
            for local in self._users.values()
        ]

    def connection_state(self, state: str) -> None:
        """Tell `live` users whether the space is reachable (`reconnecting`) or back
        (`connected`), once per change."""
        if state == self.state:
            return
        self.state = state
        frame = encode(frames.SPACE_CONNECTION, {"state": state})
        for connection in self.connections.values():
            if LIVE in connection.capabilities:
                connection.send(frame)

    def calls_ended(self) -> None:
        """The host is gone: every call it held ended for the users here."""
        for local in self._users.values():
            if local.call is not None and PROXIMITY in local.connection.capabilities:
                local.connection.send(encode(frames.CALL_LEFT, {"callId": local.call}))
            local.call, local.peers = None, set()

    def _command(self, user_id: str, frame: str) -> None:
        self._commands.append((user_id, frame))
        self._linger.schedule()

    def _send_commands(self) -> None:
        commands, self._commands = tuple(self._commands), []
        if commands:
            self._send(Commands(self.space_id, self.gateway, commands))

    def _send(self, message: GatewayMessage) -> None:
        if self._commands and not isinstance(message, Commands):
            self._linger.now()  # the commands before it go first
        sent = self._pubsub.publish_soon(gateway_channel(self.host), encode_gateway(message))
        sent.add_done_callback(_log_failure)


def _log_failure(sent: Any) -> None:
    if not sent.cancelled() and sent.exception() is not None:
        log.warning("a command for the host was lost: %s", sent.exception())


def _with_state(seat: UserSeat, local: LocalUser, at: tuple[int, int] | None) -> UserSeat:
    return UserSeat(
        user_id=seat.user_id,
        profile=seat.profile,
        status=local.status,
        status_text=local.text,
        capabilities=seat.capabilities,
        announce_capabilities=seat.announce_capabilities,
        is_admin=seat.is_admin,
        viewport=local.viewport,
        at=at,
    )


def _apply(local: LocalUser, user_id: UserId, kind: str, payload: dict[str, Any]) -> None:
    """What a frame to `user_id` says about them."""
    if kind == frames.SPACE_JOINED:
        spawn = payload["spawn"]
        local.position = Position(spawn["x"], spawn["y"])
    elif kind == frames.MOVEMENT_REJECTED:
        local.position = Position(payload["x"], payload["y"])
    elif kind in (frames.STATUS, frames.PROFILE) and payload.get("userId") == user_id:
        local.status = payload["status"]
        local.text = payload.get("text", payload.get("statusText", ""))
    elif kind == frames.CALL_JOINED:
        local.call = CallId(payload["callId"])
        local.peers = {UserId(p["userId"]) for p in payload["peers"]}
    elif kind == frames.CALL_PEER_JOINED and payload["callId"] == local.call:
        local.peers.add(UserId(payload["userId"]))
    elif kind == frames.CALL_PEER_LEFT and payload["callId"] == local.call:
        local.peers.discard(UserId(payload["userId"]))
    elif kind == frames.CALL_LEFT and payload["callId"] == local.call:
        local.call, local.peers = None, set()
