"""ICE servers for the browser's `RTCPeerConnection`, with time-limited TURN credentials.

TURN credentials follow coturn's TURN REST API scheme (`use-auth-secret`): the username is
`<expiry>:<userId>` with the expiry in unix seconds, the password is
base64(HMAC-SHA1(shared secret, username)). coturn recomputes the password from the
username and refuses it once the expiry has passed; nothing is stored on either side.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from metaverse.clock import Clock
from metaverse.settings import Settings


@dataclass(frozen=True, slots=True)
class TurnCredential:
    username: str
    credential: str


def turn_credential(secret: str, user_id: str, expires_at_s: int) -> TurnCredential:
    """coturn's REST-API credential for `user_id`, valid until `expires_at_s` (unix s)."""
    username = f"{expires_at_s}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode("ascii"))


def ice_servers(settings: Settings, clock: Clock, user_id: str) -> dict[str, Any]:
    """The `RTCConfiguration` subset the client passes on: servers, policy and lifetime.

    No STUN or TURN configured is valid: calls on a LAN or loopback need neither.
    """
    servers: list[dict[str, Any]] = []
    if settings.stun_urls:
        servers.append({"urls": list(settings.stun_urls)})
    if settings.turn_urls and settings.turn_secret is not None:
        expires_at_s = int(clock.now()) + settings.turn_ttl_s
        turn = turn_credential(settings.turn_secret.get_secret_value(), user_id, expires_at_s)
        servers.append(
            {
                "urls": list(settings.turn_urls),
                "username": turn.username,
                "credential": turn.credential,
            }
        )
    return {
        "iceServers": servers,
        "iceTransportPolicy": settings.ice_transport_policy,
        "ttl": settings.turn_ttl_s,
    }
