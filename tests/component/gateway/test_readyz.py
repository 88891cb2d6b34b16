"""The gateway's readiness on its own port: ready while its pub/sub answers."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import pytest

from metaverse.backends.pubsub import PubSubUnavailable
from tests.component.gateway.conftest import World


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def test_readyz_follows_the_pubsub_ping(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await asyncio.to_thread(_get, world.port, "/readyz") == (200, '{"status":"ok"}\n')

    async def unreachable() -> None:
        raise PubSubUnavailable("Redis is unreachable")

    monkeypatch.setattr(world.gateway.pubsub, "ping", unreachable)
    assert await asyncio.to_thread(_get, world.port, "/readyz") == (
        503,
        '{"status":"unavailable"}\n',
    )
    assert (await asyncio.to_thread(_get, world.port, "/healthz"))[0] == 200
