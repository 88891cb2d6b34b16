"""Headers on every HTTP response that keep a browser to what the client needs.

- `Content-Security-Policy`: scripts and styles only from this origin's files (no inline
  script, style attribute or event handler runs), images from anywhere on the web (an
  admin may name an `https://` image), media from the camera (`blob:`, `mediastream:`),
  connections to this origin and to the gateway the client is told about
  (`GET /api/v1/config`: by default `ws(s)://<the page's host>:WS_PORT`), and no framing.
- `X-Content-Type-Options: nosniff`: a file is only ever what its type says.
- `Referrer-Policy: no-referrer`: no address of a page (space ids) leaks to image hosts.

A response that sets its own policy keeps it (the API documentation page, whose
Swagger UI comes from a CDN: `api/routes/docs.py`).
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metaverse.api.routes.web import gateway_url

# What an origin in a policy may be made of: a scheme, a host name or address, a port.
_ORIGIN: Final = re.compile(r"(?:https?|wss?)://[A-Za-z0-9.:\[\]-]+")

POLICY: Final = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob: http: https:",
    "media-src 'self' blob: mediastream:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)


def content_security_policy(gateway_origin: str | None) -> str:
    """The policy, with `connect-src` allowing the gateway's origin (when it is a
    well-formed one: it comes from the request's Host header)."""
    connect = "connect-src 'self'"
    if gateway_origin is not None and _ORIGIN.fullmatch(gateway_origin):
        connect += f" {gateway_origin}"
    return "; ".join((*POLICY, connect))


def origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, gateway_url: str | None, ws_port: int) -> None:
        self.app = app
        self.gateway_url = gateway_url
        self.ws_port = ws_port
        # A configured gateway gives one policy for every request.
        self.fixed_policy = (
            content_security_policy(origin_of(gateway_url)) if gateway_url is not None else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", self._policy(scope))
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "no-referrer")
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _policy(self, scope: Scope) -> str:
        if self.fixed_policy is not None:
            return self.fixed_policy
        return content_security_policy(origin_of(gateway_url(Request(scope), None, self.ws_port)))
