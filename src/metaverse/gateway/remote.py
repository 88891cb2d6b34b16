"""On a space's host, the people connected to other gateways.

A `RemoteConnection` stands in for a `Connection` in the `SpaceHost`: what the host sends
it goes into its gateway's `Outbound`, which gathers the frames for that gateway (for a
`Linger`: under load, those of up to `linger_s`) and publishes them as one `Frames`
message, in order. A frame sent to many people there (a movement) is kept once with the
list of its recipients, so the host encodes and publishes it once per gateway, not once
per person: the bridge does the per-person work (outboxes, batching, socket writes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from metaverse.accounts.tokens import Principal
from metaverse.backends.pubsub import PubSub
from metaverse.core.ids import SpaceId, UserId
from metaverse.gateway.connection import Sender
from metaverse.gateway.linger import Linger
from metaverse.protocol.gateways import Close, Frames, encode_gateway, gateway_channel

log = logging.getLogger(__name__)


class Outbound:
    """Frames from one hosted space to one other gateway, gathered by a `Linger`."""

    def __init__(
        self, pubsub: PubSub, gateway: str, space_id: SpaceId, epoch: int, *, linger_s: float
    ) -> None:
        self.gateway = gateway
        self.epoch = epoch
        self._pubsub = pubsub
        self._channel = gateway_channel(gateway)
        self._space_id = space_id
        # [frame, recipients] in order; a frame sent again at once extends the last entry.
        self._items: list[tuple[str, list[str]]] = []
        self._closes: list[Close] = []
        self.linger = Linger(self.flush, linger_s)

    def add(self, frame: str, user_id: str) -> None:
        items = self._items
        if items and items[-1][0] is frame:
            items[-1][1].append(user_id)
        else:
            items.append((frame, [user_id]))
        self.linger.schedule()

    def add_many(self, frame: str, user_ids: list[str]) -> None:
        """`add` for each of `user_ids` (a list this takes over)."""
        items = self._items
        if items and items[-1][0] is frame:
            items[-1][1].extend(user_ids)
        else:
            items.append((frame, user_ids))
        self.linger.schedule()

    def close(self, user_id: str, code: int, reason: str) -> None:
        # Frames queued before it go first: `flush` publishes them, then the close.
        self._closes.append(Close(self._space_id, self.epoch, user_id, code, reason))
        self.linger.schedule()

    def flush(self) -> None:
        """Publish what is gathered (`linger.now()` to do it before its time)."""
        items, self._items = self._items, []
        closes, self._closes = self._closes, []
        messages: list[Frames | Close] = []
        if items:
            frames = tuple((frame, tuple(users)) for frame, users in items)
            messages.append(Frames(self._space_id, self.epoch, frames))
        messages.extend(closes)
        for message in messages:
            sent = self._pubsub.publish_soon(self._channel, encode_gateway(message))
            sent.add_done_callback(_log_failure)


def _log_failure(sent: asyncio.Future[None]) -> None:
    if not sent.cancelled() and sent.exception() is not None:
        # The bridge resynchronises its users when it finds the host again.
        log.warning("frames for another gateway were lost: %s", sent.exception())


class RemoteConnection:
    """A user connected to another gateway, as the host's `SpaceHost` sees them."""

    def __init__(
        self,
        outbound: Outbound,
        user_id: UserId,
        *,
        capabilities: frozenset[str],
        announce_capabilities: bool,
        principal: Principal,
    ) -> None:
        self.outbound = outbound
        self.capabilities = capabilities
        self.announce_capabilities = announce_capabilities
        self.principal: Principal | None = principal
        self.user_id: UserId | None = None
        self.space_id: SpaceId | None = None
        self.closing = False
        # Their gateway restarted: they are kept in the space, reached by nobody, until
        # they come back through another gateway (or the grace runs out).
        self.parked = False
        self.on_sender: Callable[[Sender], None] | None = None
        # The host's: this connection takes no more frames (closing, or parked).
        self.on_unreachable: Callable[[], None] | None = None
        self._user = str(user_id)

    @property
    def gateway(self) -> str:
        return self.outbound.gateway

    @property
    def joined(self) -> bool:
        return self.user_id is not None

    @property
    def sender(self) -> Sender:
        return self.send

    def send(self, frame: str) -> bool:
        if self.closing:
            return False
        self.outbound.add(frame, self._user)
        return True

    def close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self._unreachable()
        self.closing = True
        self.outbound.close(self._user, code, reason)

    def park(self) -> None:
        self._unreachable()
        self.parked = self.closing = True

    def _unreachable(self) -> None:
        if self.on_unreachable is not None:
            self.on_unreachable()
