"""The gateway in-process on a real port, over SQLite, with real WebSocket clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from metaverse.api.context import ApiContext
from metaverse.clock import FakeClock
from metaverse.db.models import Element, Space, SpaceArea, SpaceElement, SpaceMember
from metaverse.gateway.server import Gateway
from metaverse.roles import build_gateway
from metaverse.settings import Settings
from tests.loopback import free_port

FRAME_TIMEOUT_S = 3.0


class Client:
    """A WebSocket client that reads frames in order and fails clearly on surprises."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, type_: str, payload: dict[str, Any] | None = None) -> None:
        await self.ws.send(json.dumps({"type": type_, "payload": payload or {}}))

    async def recv(self, timeout_s: float = FRAME_TIMEOUT_S) -> dict[str, Any]:
        text = await asyncio.wait_for(self.ws.recv(), timeout_s)
        frame: dict[str, Any] = json.loads(text)
        return frame

    async def expect(self, type_: str) -> dict[str, Any]:
        frame = await self.recv()
        assert frame["type"] == type_, frame
        payload: dict[str, Any] = frame["payload"]
        return payload

    async def quiet(self, within_s: float = 0.2) -> None:
        """Nothing arrives within `within_s`."""
        try:
            frame = await asyncio.wait_for(self.ws.recv(), within_s)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected frame {frame!r}")

    async def drain(self, quiet_s: float = 0.2) -> list[dict[str, Any]]:
        """Every frame until none arrives for `quiet_s`."""
        frames = []
        while True:
            try:
                frames.append(await self.recv(quiet_s))
            except TimeoutError:
                return frames

    async def closed(self) -> tuple[int | None, str | None]:
        with contextlib.suppress(Exception):  # read until the close ends the stream
            while True:
                await asyncio.wait_for(self.ws.recv(), FRAME_TIMEOUT_S)
        await self.ws.wait_closed()
        return self.ws.close_code, self.ws.close_reason


@dataclass
class World:
    context: ApiContext
    gateway: Gateway
    clock: FakeClock
    port: int
    clients: list[Client] = field(default_factory=list)
    _users: int = 0
    _serving: Any = None

    async def stop(self) -> None:
        """Close the clients and stop the gateway (once), as the world's teardown does."""
        serving, self._serving = self._serving, None
        if serving is None:
            return
        for client in self.clients:
            await client.ws.close()
        await serving.__aexit__(None, None, None)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def user(self, username: str | None = None) -> tuple[str, str]:
        """A new account: (user id, access token)."""
        self._users += 1
        async with self.context.sessions() as session:
            user_id = await self.context.accounts.signup(
                session, username or f"user{self._users}", "password1", "user"
            )
        token = self.context.accounts.access_tokens.issue(user_id, "user")
        return user_id, token

    async def space(
        self,
        width: int = 20,
        height: int = 20,
        *,
        blocked: list[tuple[int, int]] = (),  # type: ignore[assignment]
        areas: list[tuple[str, int, int, int, int, str]] = (),  # type: ignore[assignment]
        visibility: str = "public",
        owner: str | None = None,
    ) -> str:
        owner = owner or (await self.user())[0]
        async with self.context.sessions() as session:
            space = Space(
                name="s", owner_id=owner, width=width, height=height, visibility=visibility
            )
            session.add(space)
            await session.flush()
            session.add(SpaceMember(space_id=space.id, user_id=owner, role="owner"))
            if blocked:
                wall = Element(image_url="/w.png", width=1, height=1, static=True)
                session.add(wall)
                await session.flush()
                for x, y in blocked:
                    session.add(SpaceElement(space_id=space.id, element_id=wall.id, x=x, y=y))
            for name, x, y, w, h, kind in areas:
                session.add(
                    SpaceArea(space_id=space.id, name=name, x=x, y=y, width=w, height=h, kind=kind)
                )
            await session.commit()
            return space.id

    async def connect(self, **headers: str) -> Client:
        ws = await connect(self.url, additional_headers=headers or None, max_size=2**20)
        client = Client(ws)
        self.clients.append(client)
        return client

    async def join(
        self, space_id: str, token: str, *, capabilities: list[str] | None = None, **extra: Any
    ) -> tuple[Client, dict[str, Any]]:
        client = await self.connect()
        payload: dict[str, Any] = {"spaceId": space_id, "token": token, **extra}
        if capabilities is not None:
            payload["capabilities"] = capabilities
        await client.send("join", payload)
        return client, await client.expect("space-joined")


WorldFactory = Callable[..., Any]


@pytest.fixture
async def world_factory(
    tmp_path: Path, sqlite_template: Path, make_settings: Callable[..., Settings]
) -> AsyncIterator[WorldFactory]:
    stack: list[World] = []

    async def make(**overrides: Any) -> World:
        """A gateway with `overrides` to its settings; on a SQLite file of its own unless
        they name a `database_url`."""
        if "database_url" not in overrides:
            path = tmp_path / f"gw{len(stack)}.db"
            shutil.copyfile(sqlite_template, path)
            overrides["database_url"] = f"sqlite+aiosqlite:///{path}"
        settings = make_settings(**overrides)
        clock = FakeClock()
        context = ApiContext.build(settings, clock)
        gateway = build_gateway(context)
        port = free_port()
        serving = gateway.serving("127.0.0.1", port)
        await serving.__aenter__()
        world = World(context, gateway, clock, port, _serving=serving)
        stack.append(world)
        return world

    yield make
    for world in reversed(stack):
        await world.stop()
        await world.context.close()


@pytest.fixture
async def world(world_factory: WorldFactory) -> World:
    made: World = await world_factory()
    return made


# Several gateways sharing spaces (`clusters.py`), for every test module here.
from tests.component.gateway.clusters import cluster_of  # noqa: E402, F401
