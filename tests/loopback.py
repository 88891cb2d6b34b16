"""Loopback helpers for tests that start real servers."""

import json
import socket
import urllib.error
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

HTTP_TIMEOUT_S = 5.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_json(
    method: str, url: str, body: object = None, token: str | None = None
) -> tuple[int, Any]:
    """One request; the status and the body, decoded as JSON when it is JSON (errors too)."""
    request = urllib.request.Request(url, method=method)  # noqa: S310 - loopback only
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("content-type", "application/json")
    if token is not None:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310 - loopback only
            status: int = response.status
            raw: bytes = response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def metric_in(page: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` with `labels` on a Prometheus `/metrics` page."""
    return sum(
        float(sample.value)
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )
