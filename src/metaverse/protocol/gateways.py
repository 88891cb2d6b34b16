"""Messages between gateways, and the records they keep in Redis for each other.

Several gateways serve one space together: its *host* runs the pure core, and the others,
*bridges*, forward their users' commands to it and deliver its frames to their users. The
messages travel over pub/sub on one channel per gateway (`gateway_channel`), so each is
addressed to one gateway, in order. Every message is one frozen dataclass with one wire
name (`KIND`) and is encoded as a JSON object `{"v": 1, "k": KIND, ...}`; `decode_gateway`
refuses other versions, so a mixed deployment fails loudly instead of misreading.

Messages from a host carry its lease's `epoch` (fencing): a bridge ignores a host whose
epoch is lower than one it has seen for that space.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from metaverse.protocol.codec import dumps, loads

GATEWAY_VERSION: Final = 1


def gateway_channel(gateway_id: str) -> str:
    """The pub/sub channel a gateway receives its messages on."""
    return f"gateway:{gateway_id}"


class GatewayWireError(ValueError):
    """Bytes that are not a message of this version."""


@dataclass(frozen=True, slots=True)
class UserSeat:
    """A user as a bridge hands them to a host: everything `SpaceHost.join` needs."""

    user_id: str
    profile: dict[str, Any]
    status: str
    status_text: str
    capabilities: tuple[str, ...]
    announce_capabilities: bool
    is_admin: bool
    viewport: tuple[int, int, int, int] | None = None
    at: tuple[int, int] | None = None  # where they stood (a resync) or ask to stand (resume)

    def to_wire(self) -> dict[str, Any]:
        return {
            "user": self.user_id,
            "profile": self.profile,
            "status": self.status,
            "statusText": self.status_text,
            "capabilities": list(self.capabilities),
            "announce": self.announce_capabilities,
            "admin": self.is_admin,
            "viewport": list(self.viewport) if self.viewport is not None else None,
            "at": list(self.at) if self.at is not None else None,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> UserSeat:
        viewport, at = data.get("viewport"), data.get("at")
        return cls(
            user_id=_str(data["user"]),
            profile=dict(data["profile"]),
            status=_str(data["status"]),
            status_text=_str(data["statusText"]),
            capabilities=tuple(_str(c) for c in data["capabilities"]),
            announce_capabilities=bool(data["announce"]),
            is_admin=bool(data["admin"]),
            viewport=tuple(int(n) for n in viewport) if viewport is not None else None,  # type: ignore[arg-type]
            at=(int(at[0]), int(at[1])) if at is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Attach:
    """Bridge → host: `seat` entered the space through `gateway`."""

    KIND: ClassVar[str] = "attach"
    space_id: str
    gateway: str
    seat: UserSeat


@dataclass(frozen=True, slots=True)
class Commands:
    """Bridge → host: client frames of users there (already checked by the bridge), in
    order, each as its user and its JSON text; or `reject-move` for a move over the user's
    rate limit."""

    KIND: ClassVar[str] = "commands"
    space_id: str
    gateway: str
    commands: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Detach:
    """Bridge → host: the user's connection to `gateway` ended; with `resume`, because the
    gateway restarts: the user stays in the space a while, to come back through another."""

    KIND: ClassVar[str] = "detach"
    space_id: str
    gateway: str
    user_id: str
    resume: bool = False


@dataclass(frozen=True, slots=True)
class Resync:
    """Bridge → host: the users of `gateway` in the space, after the host changed."""

    KIND: ClassVar[str] = "resync"
    space_id: str
    gateway: str
    epoch: int
    seats: tuple[UserSeat, ...]


@dataclass(frozen=True, slots=True)
class Frames:
    """Host → bridge: server frames (their JSON text) for users of the bridge, in order.
    Each item is a frame and the users to send it to."""

    KIND: ClassVar[str] = "frames"
    space_id: str
    epoch: int
    items: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class Close:
    """Host → bridge: close this user's connection (after the frames sent before)."""

    KIND: ClassVar[str] = "close"
    space_id: str
    epoch: int
    user_id: str
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class HostChanged:
    """New host → bridges: `host` now hosts the space with `epoch`; send your users. With
    `handoff`, the host took the space over whole from its predecessor: it has them."""

    KIND: ClassVar[str] = "host-changed"
    space_id: str
    epoch: int
    host: str
    handoff: bool = False


@dataclass(frozen=True, slots=True)
class HostRequest:
    """Gateway → gateway: please host this space (the sender is too loaded)."""

    KIND: ClassVar[str] = "host-request"
    space_id: str
    gateway: str


@dataclass(frozen=True, slots=True)
class Handoff:
    """Draining host → its successor: the space's core state (a `Snapshot` as a dict)
    and who is where, so that it goes on without anyone noticing."""

    KIND: ClassVar[str] = "handoff"
    space_id: str
    gateway: str
    epoch: int  # the successor's, given by the lease's transfer
    snapshot: dict[str, Any]
    seats: tuple[UserSeat, ...]
    routes: dict[str, str] = field(default_factory=dict)  # user → gateway holding them


GatewayMessage = (
    Attach | Commands | Detach | Resync | Frames | Close | HostChanged | HostRequest | Handoff
)

_SEATS: Final = "seats"


_KINDS: Final[dict[str, type[Any]]] = {
    cls.KIND: cls
    for cls in (Attach, Commands, Detach, Resync, Frames, Close, HostChanged, HostRequest, Handoff)
}
# Each message's fields, looked up once: `dataclasses.fields` builds its tuple every call.
_FIELDS: Final[dict[type[Any], tuple[dataclasses.Field[Any], ...]]] = {
    cls: dataclasses.fields(cls) for cls in _KINDS.values()
}


def encode_gateway(message: GatewayMessage) -> bytes:
    body: dict[str, Any] = {"v": GATEWAY_VERSION, "k": message.KIND}
    for item in _FIELDS[type(message)]:
        value = getattr(message, item.name)
        if item.name == "seat":
            value = value.to_wire()
        elif item.name == _SEATS:
            value = [seat.to_wire() for seat in value]
        body[item.name] = value
    return dumps(body)


def decode_gateway(data: bytes) -> GatewayMessage:
    try:
        body = loads(data)
    except ValueError as error:
        raise GatewayWireError("not JSON") from error
    if not isinstance(body, dict) or body.get("v") != GATEWAY_VERSION:
        raise GatewayWireError(f"not a version {GATEWAY_VERSION} gateway message")
    cls = _KINDS.get(body.get("k"))  # type: ignore[arg-type]
    if cls is None:
        raise GatewayWireError(f"unknown gateway message {body.get('k')!r}")
    try:
        values: dict[str, Any] = {}
        for item in _FIELDS[cls]:
            if item.name not in body:
                if (
                    item.default is dataclasses.MISSING
                    and item.default_factory is dataclasses.MISSING
                ):
                    raise KeyError(item.name)
                continue
            value = body[item.name]
            if item.name == "seat":
                value = UserSeat.from_wire(value)
            elif item.name == _SEATS:
                value = tuple(UserSeat.from_wire(seat) for seat in value)
            elif item.name == "items":
                value = tuple(
                    (_str(frame), tuple(_str(u) for u in users)) for frame, users in value
                )
            elif item.name == "commands":
                value = tuple((_str(user), _str(frame)) for user, frame in value)
            values[item.name] = value
        message: GatewayMessage = cls(**values)
    except (KeyError, TypeError, ValueError) as error:
        raise GatewayWireError(f"malformed {cls.KIND}: {error}") from error
    return message


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What a live gateway publishes about itself in Redis (`gateways` hash)."""

    gateway: str
    connections: int
    capacity: int
    at_ms: int

    @property
    def load(self) -> float:
        return self.connections / self.capacity

    def to_bytes(self) -> bytes:
        return dumps({"v": GATEWAY_VERSION, **dataclasses.asdict(self)})

    @classmethod
    def from_bytes(cls, data: bytes) -> LoadReport:
        try:
            body = loads(data)
            if body.pop("v") != GATEWAY_VERSION:
                raise GatewayWireError("another version")
            return cls(**body)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise GatewayWireError(f"malformed load report: {error}") from error
