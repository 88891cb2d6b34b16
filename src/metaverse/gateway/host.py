"""One hosted space: the core `Space` plus the connections of the people in it.

Every method is synchronous: a command goes into the core, and the events that come out
are encoded and queued on outboxes before anything else can run. That makes each command
atomic without locks, and keeps the core's commands-in, events-out shape intact.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from metaverse.core import events as ev
from metaverse.core.geometry import Position, Rect
from metaverse.core.ids import SpaceId, UserId
from metaverse.core.maps import SpaceMap
from metaverse.core.space import Space
from metaverse.gateway.connection import CLOSE_REPLACED, Connection, Sender
from metaverse.gateway.metrics import GatewayMetrics
from metaverse.gateway.remote import Outbound, RemoteConnection
from metaverse.gateway.wire import LIVE, PROFILES, PROXIMITY, SOCIAL, WIRE_TYPES, Encoder
from metaverse.protocol import frames
from metaverse.protocol.codec import encode
from metaverse.protocol.gateways import UserSeat

DomainSink = Callable[[SpaceId, list[ev.DomainEvent]], None]
# Someone in the space: connected here, or to another gateway.
Attendee = Connection | RemoteConnection


class SpaceHost:
    """`epoch` is the lease this gateway hosts the space under (0 when it runs alone).
    `connections` holds `RemoteConnection`s too: people connected to other gateways."""

    def __init__(
        self,
        space_id: SpaceId,
        space: Space,
        metrics: GatewayMetrics,
        record: DomainSink,
        *,
        epoch: int = 0,
    ) -> None:
        self.space_id = space_id
        self.space = space
        self.epoch = epoch
        self.connections: dict[UserId, Attendee] = {}
        # Each present user's `Connection.sender`: what a move's fan-out calls; the people
        # on other gateways apart, reached through their gateway's `Outbound` in bulk.
        self._senders: dict[UserId, Sender] = {}
        # Who can be reached on each other gateway (not parked, not closing).
        self._reachable: dict[Outbound, set[UserId]] = {}
        self._profiles: dict[UserId, dict[str, Any]] = {}
        self._statuses: dict[UserId, tuple[str, str]] = {}
        self._metrics = metrics
        self._record = record
        self._encoder = Encoder(self._profiles, self._statuses)
        # Labelled children looked up once: `labels()` costs more than the increment.
        self._frames_out = {
            wire_type: metrics.frames_out.labels(wire_type) for wire_type, _ in WIRE_TYPES.values()
        }

    def __len__(self) -> int:
        return len(self.connections)

    def profile(self, user_id: UserId) -> dict[str, Any]:
        return self._profiles.get(user_id, {})

    def join(
        self,
        connection: Attendee,
        user_id: UserId,
        *,
        profile: dict[str, Any],
        status: str,
        status_text: str,
        viewport: Rect | None,
        at: Position | None = None,
    ) -> None:
        """`user_id` enters on `connection`: on `at` if it is free (where they stood before a
        reconnection), else on a spawn cell."""
        previous = self.connections.get(user_id)
        if isinstance(previous, RemoteConnection) and previous.parked:
            self._resume(connection, user_id, profile)
            return
        if previous is not None:
            # The same person again (a new tab, a reconnect): the newer connection wins.
            at = self.space.position(user_id)
            previous.send(encode(frames.ERROR, {"code": "replaced", "message": "joined elsewhere"}))
            previous.on_sender = None
            previous.close(CLOSE_REPLACED, "replaced by a newer connection")
            previous.user_id = previous.space_id = None
            self._apply(self.space.leave(user_id))
        self._route(connection, user_id)
        self._profiles[user_id] = profile
        self._statuses[user_id] = (status, status_text)
        self._apply(
            self.space.join(
                user_id,
                status=status,
                text=status_text,
                in_calls=PROXIMITY in connection.capabilities,
                viewport=viewport,
                at=at,
            )
        )
        self._metrics.users.labels(self.space_id).set(len(self.connections))

    def join_seat(self, connection: Attendee, seat: UserSeat) -> None:
        """`join` for a user handed over from elsewhere (a bridge, a former host), where
        they stood."""
        self.join(
            connection,
            UserId(seat.user_id),
            profile=seat.profile,
            status=seat.status,
            status_text=seat.status_text,
            viewport=Rect(*seat.viewport) if seat.viewport is not None else None,
            at=Position(*seat.at) if seat.at is not None else None,
        )

    def adopt(
        self,
        connection: Attendee,
        user_id: UserId,
        *,
        profile: dict[str, Any],
        status: str,
        status_text: str,
    ) -> None:
        """Route `user_id`, already in the core (a space handed over whole), to
        `connection`: nobody is told anything."""
        self._route(connection, user_id)
        self._profiles[user_id] = profile
        self._statuses[user_id] = (status, status_text)
        self._metrics.users.labels(self.space_id).set(len(self.connections))

    def _route(self, connection: Attendee, user_id: UserId) -> None:
        connection.user_id, connection.space_id = user_id, self.space_id
        self.connections[user_id] = connection
        self._unreachable(user_id)
        if isinstance(connection, RemoteConnection):
            self._senders.pop(user_id, None)
            self._reachable.setdefault(connection.outbound, set()).add(user_id)
            connection.on_unreachable = partial(self._no_longer_reached, connection)
        else:
            self._senders[user_id] = connection.sender
            connection.on_sender = partial(self._senders.__setitem__, user_id)

    def _no_longer_reached(self, remote: RemoteConnection) -> None:
        """`remote` is closing or parked: its person gets no more frames through it."""
        user_id = remote.user_id
        if user_id is not None and self.connections.get(user_id) is remote:
            self._unreachable(user_id)

    def _unreachable(self, user_id: UserId) -> None:
        for users in self._reachable.values():
            users.discard(user_id)

    def _resume(self, connection: Attendee, user_id: UserId, profile: dict[str, Any]) -> None:
        """A parked user is back on a new connection: it takes over where they are, in their
        call; only they are told (`space-joined`, `call-joined`)."""
        parked = self.connections[user_id]
        parked.user_id = parked.space_id = None
        status = self._statuses.get(user_id, ("available", ""))
        self.adopt(connection, user_id, profile=profile, status=status[0], status_text=status[1])
        self._apply(self.space.welcome(user_id))

    def leave(self, connection: Attendee) -> None:
        user_id = connection.user_id
        connection.user_id = connection.space_id = None
        connection.on_sender = None
        if user_id is None or self.connections.get(user_id) is not connection:
            return
        del self.connections[user_id]
        self._senders.pop(user_id, None)
        self._unreachable(user_id)
        self._apply(self.space.leave(user_id))
        self._profiles.pop(user_id, None)
        self._statuses.pop(user_id, None)
        self._encoder.forget(user_id)
        self._metrics.users.labels(self.space_id).set(len(self.connections))

    def move(self, user_id: UserId, x: int, y: int) -> None:
        self._apply(self.space.move(user_id, x, y))

    def reject_move(self, user_id: UserId) -> None:
        x, y = self.space.position(user_id)
        self._apply([ev.MovementRejected((user_id,), x, y)])

    def set_status(self, user_id: UserId, status: str, text: str) -> None:
        self._statuses[user_id] = (status, text)
        self._apply(self.space.set_status(user_id, status, text))

    def set_viewport(self, user_id: UserId, viewport: Rect | None) -> None:
        self._apply(self.space.set_viewport(user_id, viewport))

    def signal(self, sender: UserId, recipient: str, data: Any) -> bool:
        """Relay signaling within a call; False (and `signal-rejected`) otherwise."""
        target = self.connections.get(UserId(recipient))
        if (
            target is not None
            and PROXIMITY in target.capabilities
            and self.space.can_signal(sender, UserId(recipient))
        ):
            target.send(encode(frames.SIGNALING, {"from": sender, "data": data}))
            self._metrics.signals.labels("relayed").inc()
            return True
        self.connections[sender].send(
            encode(frames.SIGNAL_REJECTED, {"to": recipient, "reason": "not_in_same_call"})
        )
        self._metrics.signals.labels("refused").inc()
        return False

    def wave(self, sender: UserId, recipient: str) -> None:
        """Call `recipient` over (`wave {from, name}`), unless they can't be reached: not
        here, without `social`, or in do not disturb (then the sender gets an error)."""
        target = self.connections.get(UserId(recipient))
        if target is None or SOCIAL not in target.capabilities or recipient == sender:
            code, message = "unknown_recipient", "nobody here to wave at by that id"
        elif self.space.status(UserId(recipient))[0] == "dnd":
            code, message = "do_not_disturb", "they do not want to be disturbed"
        else:
            profile = self._profiles.get(sender, {})
            name = profile.get("displayName") or profile.get("username") or ""
            target.send(encode(frames.WAVE, {"from": sender, "name": name}))
            return
        self.connections[sender].send(encode(frames.ERROR, {"code": code, "message": message}))

    def media_state(self, sender: UserId, audio: bool, video: bool, screen: bool) -> bool:
        """Tell the other members of `sender`'s call whether its microphone and camera are
        on and whether it shares its screen; outside a call, False (and an `error`)."""
        call_id = self.space.call_of(sender)
        if call_id is None:
            self.connections[sender].send(
                encode(frames.ERROR, {"code": "not_in_call", "message": "not in a call"})
            )
            return False
        payload = {"from": sender, "audio": audio, "video": video, "screen": screen}
        frame = encode(frames.MEDIA_STATE, payload)
        sent = 0
        for member in self.space.call_members(call_id):
            target = self.connections.get(member)
            if member != sender and target is not None and PROXIMITY in target.capabilities:
                sent += target.send(frame)
        if sent:
            self._metrics.frames_out.labels(frames.MEDIA_STATE).inc(sent)
        return True

    def seats(self, *, everyone: bool = False) -> list[tuple[Attendee, UserSeat]]:
        """The people connected to this gateway (`everyone`: to any), as another host takes
        them over: where they stand, their status and viewport."""
        users = self.space.snapshot().users
        seats: list[tuple[Attendee, UserSeat]] = []
        for user_id, connection in self.connections.items():
            if not (everyone or isinstance(connection, Connection)):
                continue
            state = users[user_id]
            principal = connection.principal
            viewport = state.viewport
            seat = UserSeat(
                user_id=user_id,
                profile=self._profiles.get(user_id, {}),
                status=state.status,
                status_text=state.text,
                capabilities=tuple(sorted(connection.capabilities)),
                announce_capabilities=connection.announce_capabilities,
                is_admin=principal is not None and principal.is_admin,
                viewport=(
                    (viewport.x, viewport.y, viewport.width, viewport.height)
                    if viewport is not None
                    else None
                ),
                at=(state.x, state.y),
            )
            seats.append((connection, seat))
        return seats

    # Changes made outside the space (through the API; see `gateway.control`).

    def set_map(self, space_map: SpaceMap, layout: dict[str, Any]) -> None:
        """A changed layout: the core checks moves against it, `live` clients redraw."""
        self._apply(self.space.set_map(space_map))
        self._send_live(frames.MAP_CHANGED, layout)

    def update_profile(
        self, user_id: UserId, profile: dict[str, Any], status: str, status_text: str
    ) -> None:
        """`user_id` changed their profile: the space shows it (`profile`, and `status`
        with the core's consequences when their presence changed)."""
        if user_id not in self.connections:
            return
        self._profiles[user_id] = profile
        self._encoder.forget(user_id)
        if self._statuses.get(user_id) != (status, status_text):
            self.set_status(user_id, status, status_text)
        self._send_live(frames.PROFILE, {"userId": user_id, **self._encoder.profile(user_id)})

    def remove(self, connection: Attendee, code: str, message: str, close_code: int) -> None:
        """Take one person out (others see `user-left` at once) and close their connection."""
        connection.send(encode(frames.ERROR, {"code": code, "message": message}))
        self.leave(connection)
        connection.close(close_code, message)

    def close_all(self, code: str, message: str, close_code: int) -> None:
        """Close every connection at once, the space being gone: nobody is told of the
        others leaving, and nothing more is done in it."""
        frame = encode(frames.ERROR, {"code": code, "message": message})
        for connection in self.connections.values():
            connection.send(frame)
            connection.on_sender = None
            connection.user_id = connection.space_id = None
            connection.close(close_code, message)
        self.connections.clear()
        self._senders.clear()
        self._reachable.clear()

    def _send_live(self, wire_type: str, payload: dict[str, Any]) -> None:
        """A frame of the `live` capability to everyone here who has it."""
        frame = encode(wire_type, payload)
        sent = 0
        for connection in self.connections.values():
            if LIVE in connection.capabilities:
                sent += connection.send(frame)
        if sent:
            self._metrics.frames_out.labels(wire_type).inc(sent)

    def _apply(self, events: list[ev.Event]) -> None:
        domain: list[ev.DomainEvent] = []
        for event in events:
            kind = type(event)
            if kind is ev.Movement:
                self._movement(event)  # type: ignore[arg-type]
            elif kind in WIRE_TYPES:
                self._deliver(event)  # type: ignore[arg-type]
            elif isinstance(event, ev.DomainEvent):
                domain.append(event)
        if domain:
            self._record(self.space_id, domain)

    def _movement(self, event: ev.Movement) -> None:
        """The bulk of the traffic: no capability, no profile variant, one text for all."""
        frame = self._encoder.movement(event)
        senders = self._senders
        mover = senders.get(event.user_id)
        # This runs for every recipient of every move: the lookups run in C, and for a
        # `batch` client whose socket keeps up, so does the send (an outbox's `append`).
        sends = [
            send
            for send in map(senders.get, event.recipients)
            if send is not None and send is not mover  # movers are told nothing
        ]
        for send in sends:
            send(frame)
        sent = len(sends)
        if self._reachable:
            sent += self._movement_elsewhere(frame, event)
        if sent:
            # Counted once per event, not per recipient.
            self._frames_out["movement"].inc(sent)

    def _movement_elsewhere(self, frame: str, event: ev.Movement) -> int:
        """The recipients on other gateways: each gateway's `Outbound` takes the frame
        once with the list of its recipients (found by a set intersection, in C), rather
        than a call per person."""
        sent = 0
        for outbound, users in self._reachable.items():
            found = users.intersection(event.recipients)
            found.discard(event.user_id)  # movers are told nothing
            if found:
                outbound.add_many(frame, list(found))
                sent += len(found)
        return sent

    def _deliver_elsewhere(
        self, event: ev.Outgoing, capability: str | None, variants: dict[bool, str]
    ) -> int:
        """`_deliver` to the recipients on other gateways: each gateway's `Outbound` takes
        each variant of the frame once, with the list of those it goes to."""
        connections, sent = self.connections, 0
        for outbound, users in self._reachable.items():
            found = users.intersection(event.recipients)
            if capability is not None:
                found = {u for u in found if capability in connections[u].capabilities}
            profiled = {u for u in found if PROFILES in connections[u].capabilities}
            for with_profiles, group in ((True, profiled), (False, found - profiled)):
                if not group:
                    continue
                frame = variants.get(with_profiles)
                if frame is None:
                    frame = variants[with_profiles] = self._encoder.frame(
                        event, with_profiles=with_profiles
                    )
                outbound.add_many(frame, list(group))
                sent += len(group)
        return sent

    def _space_joined(self, event: ev.SpaceJoined, connection: Attendee) -> str:
        return self._encoder.space_joined(
            event,
            with_profiles=PROFILES in connection.capabilities,
            capabilities=(
                sorted(connection.capabilities) if connection.announce_capabilities else None
            ),
        )

    def _deliver(self, event: ev.Outgoing) -> None:
        wire_type, capability = WIRE_TYPES[type(event)]
        if wire_type == "movement-rejected":
            self._metrics.rejected_moves.inc()
        connections = self.connections
        if isinstance(event, ev.SpaceJoined):
            connection = connections.get(event.user_id)
            if connection is not None:
                connection.send(self._space_joined(event, connection))
            return
        encoder = self._encoder
        senders = self._senders
        variants: dict[bool, str] = {}  # with profiles or not: encoded when first needed
        sent = 0
        # Every joiner is announced to everyone: this runs for each person in the space.
        for recipient in event.recipients:
            # A batch client's sender is its outbox's `append` (in C, returning None).
            send = senders.get(recipient)
            if send is None:
                continue  # not here, or on another gateway (below)
            capabilities = connections[recipient].capabilities
            if capability is not None and capability not in capabilities:
                continue
            with_profiles = PROFILES in capabilities
            frame = variants.get(with_profiles)
            if frame is None:
                frame = variants[with_profiles] = encoder.frame(event, with_profiles=with_profiles)
            sent += send(frame) is not False
        if self._reachable:
            sent += self._deliver_elsewhere(event, capability, variants)
        if sent:
            self._frames_out[wire_type].inc(sent)
