"""ASGI middleware: request metrics, a bound on request body size, and the character rule
for paths and query strings."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metaverse.text import check_text

MAX_BODY_BYTES = 1024 * 1024


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "metaverse_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "metaverse_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["route", "method"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )


def route_template(scope: Scope) -> str:
    """The matched route as a template (`/api/v1/space/{space_id}`), or "unmatched".

    Metrics are labelled by template, never by raw path: ids in paths would make one
    time series per id. Path parameters here are whole segments, so putting their names
    back in place of their values rebuilds the template.
    """
    if scope.get("route") is None:
        return "unmatched"
    names = {str(value): name for name, value in scope.get("path_params", {}).items()}
    segments = scope["path"].split("/")
    return "/".join(f"{{{names[s]}}}" if s in names else s for s in segments)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_s = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            template = route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(template, method, str(status)).inc()
            self.metrics.latency.labels(template, method).observe(time.perf_counter() - started_s)


async def send_error(send: Send, status: int, code: str, message: str, details: Any = None) -> None:
    """The API's error body (`api/errors.py`), sent from below the application."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` with 413 before they are buffered.

    A declared `Content-Length` over the limit is refused before the app runs. A body
    without one (chunked) is counted as it arrives: past the limit, the 413 goes out at
    once, the app is told the client left, and whatever it answers after that is dropped.
    `limits` sets other bounds for some paths (exact paths, e.g. an upload route).
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, limits: Mapping[str, int] = {}
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = dict(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limits.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await self._refuse(send, max_bytes)
            return
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    refused = True
                    if not started:
                        await self._refuse(send, max_bytes)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _refuse(self, send: Send, max_bytes: int) -> None:
        await send_error(send, 413, "payload_too_large", f"bodies are limited to {max_bytes} bytes")


class TextParamsMiddleware:
    """Refuses a path or query string holding a character no stored string may hold
    (`metaverse.text`) with 400 `invalid_characters`, before any route runs: path and
    query parameters follow the rule request bodies follow (`fields.Body`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = _text_problem(scope)
            if problem is not None:
                details = [{"field": problem[0], "message": problem[1]}]
                message = "the request holds characters that can't be stored"
                await send_error(send, 400, "invalid_characters", message, details)
                return
        await self.app(scope, receive, send)


def _text_problem(scope: Scope) -> tuple[str, str] | None:
    """(where, why) for the first forbidden character in the path or query, or None."""
    try:
        check_text(scope["path"])
    except ValueError as exc:
        return "path", str(exc)
    # Decoded as Starlette decodes it for the routes (bad UTF-8 becomes U+FFFD).
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        try:
            check_text(name)
        except ValueError as exc:
            return "query", f"a parameter name {exc}"
        try:
            check_text(value)
        except ValueError as exc:
            return f"query.{name}", str(exc)
    return None
