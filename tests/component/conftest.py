"""The HTTP API in-process, over a real database, through an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from metaverse.api.app import create_app
from metaverse.api.context import ApiContext
from metaverse.clock import FakeClock
from metaverse.settings import Settings


@dataclass
class Api:
    """A running app and helpers for the calls most tests start with."""

    client: httpx.AsyncClient
    context: ApiContext
    clock: FakeClock
    _counter: int = 0

    def unique(self, prefix: str = "user") -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    async def signup(self, username: str | None = None, *, admin: bool = False) -> str:
        username = username or self.unique()
        response = await self.client.post(
            "/api/v1/signup",
            json={
                "username": username,
                "password": "password1",
                "type": "admin" if admin else "user",
            },
        )
        assert response.status_code == 200, response.text
        return username

    async def token(self, *, admin: bool = False) -> str:
        username = await self.signup(admin=admin)
        response = await self.client.post(
            "/api/v1/signin", json={"username": username, "password": "password1"}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token

    async def user(self, *, admin: bool = False) -> tuple[str, dict[str, str]]:
        """A new account: (user id, auth headers)."""
        token = await self.token(admin=admin)
        headers = {"authorization": f"Bearer {token}"}
        me = await self.client.get("/api/v1/user/me", headers=headers)
        user_id: str = me.json()["id"]
        return user_id, headers

    async def element(self, admin: dict[str, str], **fields: Any) -> str:
        body = {"imageUrl": "https://example.com/e.png", "width": 1, "height": 1, "static": True}
        body.update(fields)
        response = await self.client.post("/api/v1/admin/element", json=body, headers=admin)
        assert response.status_code == 200, response.text
        element_id: str = response.json()["id"]
        return element_id


ApiFactory = Callable[..., Awaitable[Api]]


@pytest.fixture
async def api_factory(
    database_url: str, make_settings: Callable[..., Settings]
) -> AsyncIterator[ApiFactory]:
    contexts: list[ApiContext] = []
    clients: list[httpx.AsyncClient] = []

    async def make(**overrides: Any) -> Api:
        clock = FakeClock()
        settings = make_settings(**{"database_url": database_url, **overrides})
        context = ApiContext.build(settings, clock)
        contexts.append(context)
        transport = httpx.ASGITransport(app=create_app(context), client=("203.0.113.7", 50000))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(client)
        return Api(client=client, context=context, clock=clock)

    yield make
    for client in clients:
        await client.aclose()
    for context in contexts:
        await context.close()


@pytest.fixture
async def api(api_factory: ApiFactory) -> Api:
    return await api_factory()
