"""Acting on control messages: changes made through the API, applied to the live spaces.

The API publishes a `protocol.control` message on `CONTROL_CHANNEL` after each change it
commits; every gateway acts on those about the spaces it hosts and the people connected to
it. Each handler reads the current state from the database rather than trusting the
message, so a late or repeated message converges on what the database says.

* `space-deleted`: everyone in the space gets `error {code: "space_deleted"}` and a close
  with 4004; the space is dropped at once, so nothing more (a move, a chat message) is
  accepted in it.
* `access-changed`: everyone who may no longer enter gets `error {code: "access_revoked"}`
  and a close with 4003; the others see them leave.
* `map-changed`: the core takes the new layout; `live` clients get `map-changed`.
* `profile-changed`: the person's spaces show the new profile (`profile` to `live`
  clients) and, when their presence changed, their new status.
* `account-disabled`: each of the person's connections here, in a space hosted here or
  bridged to another gateway, gets `error {code: "account_disabled"}` and a close with
  4001; a hosted space also takes out those connected to other gateways (whose own
  gateways close them too, whichever comes first). The others see them leave.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Container, Coroutine, Mapping
from typing import Any, Final

from metaverse.core.ids import SpaceId, UserId
from metaverse.gateway.bridge import SpaceBridge
from metaverse.gateway.connection import (
    CLOSE_FORBIDDEN,
    CLOSE_INVALID_TOKEN,
    CLOSE_UNKNOWN_SPACE,
)
from metaverse.gateway.directory import Directory
from metaverse.gateway.host import SpaceHost
from metaverse.protocol.control import (
    AccessChanged,
    AccountDisabled,
    ControlMessage,
    MapChanged,
    ProfileChanged,
    RoleChanged,
    SpaceDeleted,
    UnknownControl,
    decode_control,
)

log = logging.getLogger(__name__)

SPACE_DELETED: Final = "space_deleted"
ACCESS_REVOKED: Final = "access_revoked"
ACCOUNT_DISABLED: Final = "account_disabled"
# How long a disabling is remembered for joins that read the account just before it.
DISABLED_MEMORY_S: Final = 60.0

Spawn = Callable[[Coroutine[Any, Any, None]], None]


class Controls:
    """`hosts` are the gateway's live spaces and `loading` those it is reading from the
    database; `drop(space_id)` forgets a live one (its channel, its metrics); `spawn` runs a
    coroutine in the background."""

    def __init__(
        self,
        hosts: Mapping[SpaceId, SpaceHost],
        loading: Container[SpaceId],
        directory: Directory,
        *,
        bridges: Mapping[SpaceId, SpaceBridge],
        drop: Callable[[SpaceId], None],
        spawn: Spawn,
    ) -> None:
        self._hosts = hosts
        self._loading = loading
        self._bridges = bridges
        self._directory = directory
        self._drop = drop
        self._spawn = spawn
        # Spaces whose layout is being read, and those changed again meanwhile.
        self._reloading: set[SpaceId] = set()
        self._stale: set[SpaceId] = set()
        # Spaces deleted while this gateway was loading them: the load must not go live.
        self.deleted_while_loading: set[SpaceId] = set()
        # Accounts disabled lately, with when (loop time).
        self._disabled: dict[UserId, float] = {}

    def receive(self, data: bytes) -> None:
        """One message from the control channel."""
        try:
            message = decode_control(data)
        except UnknownControl as error:
            log.warning("ignoring a control message this gateway can't act on: %s", error)
            return
        self.apply(message)

    def apply(self, message: ControlMessage) -> None:
        match message:
            case SpaceDeleted():
                self._space_deleted(SpaceId(message.space_id))
            case AccessChanged():
                self._spawn(self._access_changed(SpaceId(message.space_id)))
            case MapChanged():
                self._map_changed(SpaceId(message.space_id))
            case ProfileChanged():
                self._spawn(self._profile_changed(UserId(message.user_id)))
            case AccountDisabled():
                self._account_disabled(UserId(message.user_id))
            case RoleChanged():
                self._role_changed(UserId(message.user_id), message.role)

    def _space_deleted(self, space_id: SpaceId) -> None:
        if space_id in self._loading:
            self.deleted_while_loading.add(space_id)
        bridge = self._bridges.get(space_id)
        if bridge is not None:
            bridge.close_all(SPACE_DELETED, "this space was deleted", CLOSE_UNKNOWN_SPACE)
        host = self._hosts.get(space_id)
        if host is None:
            return
        host.close_all(SPACE_DELETED, "this space was deleted", CLOSE_UNKNOWN_SPACE)
        self._drop(space_id)

    def disabled_since(self, user_id: UserId, started_s: float) -> bool:
        """Whether the account was disabled at or after `started_s` (loop time): a join
        that read it before then must not go on."""
        at_s = self._disabled.get(user_id)
        return at_s is not None and at_s >= started_s

    def _account_disabled(self, user_id: UserId) -> None:
        now_s = asyncio.get_running_loop().time()
        for old in [u for u, at_s in self._disabled.items() if at_s < now_s - DISABLED_MEMORY_S]:
            del self._disabled[old]
        self._disabled[user_id] = now_s
        text = "this account was disabled"
        for host in list(self._hosts.values()):
            connection = host.connections.get(user_id)
            if connection is not None:
                host.remove(connection, ACCOUNT_DISABLED, text, CLOSE_INVALID_TOKEN)
        for bridge in list(self._bridges.values()):
            bridge.remove(user_id, ACCOUNT_DISABLED, text, CLOSE_INVALID_TOKEN)

    def _role_changed(self, user_id: UserId, role: str) -> None:
        """The person's connections here go by `role` from now on; a space hosted here
        checks its people again when it no longer makes them an admin."""
        for bridge in self._bridges.values():
            bridge.set_role(user_id, role)
        for space_id, host in list(self._hosts.items()):
            connection = host.connections.get(user_id)
            if connection is None or connection.principal is None:
                continue
            connection.principal = connection.principal.with_stored_role(role)
            if role != "admin":
                self._spawn(self._access_changed(space_id))

    async def _access_changed(self, space_id: SpaceId) -> None:
        host = self._hosts.get(space_id)
        if host is None:
            return
        present = {
            user_id: connection
            for user_id, connection in host.connections.items()
            if connection.principal is not None
        }
        allowed = await self._directory.may_stay(
            space_id, [c.principal for c in present.values() if c.principal is not None]
        )
        if allowed is None:  # deleted meanwhile: its own message closes everyone
            return
        for user_id, connection in present.items():
            # Only the connections asked about, if they are still there.
            if user_id not in allowed and host.connections.get(user_id) is connection:
                host.remove(
                    connection,
                    ACCESS_REVOKED,
                    "you may no longer enter this space",
                    CLOSE_FORBIDDEN,
                )

    def _map_changed(self, space_id: SpaceId) -> None:
        if space_id not in self._hosts:
            return
        if space_id in self._reloading:
            self._stale.add(space_id)  # read again once the read under way is done
            return
        self._reloading.add(space_id)
        self._spawn(self._reload(space_id))

    async def _reload(self, space_id: SpaceId) -> None:
        try:
            while True:
                self._stale.discard(space_id)
                host = self._hosts.get(space_id)
                if host is None:
                    return
                loaded = await self._directory.layout(space_id)
                if loaded is not None and self._hosts.get(space_id) is host:
                    space_map, layout = loaded
                    try:
                        host.set_map(space_map, layout)
                    except ValueError as error:  # no free cell left, say: keep the old one
                        log.warning("space %s keeps its layout: %s", space_id, error)
                if space_id not in self._stale:
                    return
        finally:
            self._reloading.discard(space_id)

    async def _profile_changed(self, user_id: UserId) -> None:
        if not any(user_id in host.connections for host in self._hosts.values()):
            return
        profile = await self._directory.profile(user_id)
        if profile is None:
            return
        for host in list(self._hosts.values()):
            host.update_profile(user_id, profile.wire(), profile.status, profile.status_text)
