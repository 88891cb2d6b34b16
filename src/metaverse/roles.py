"""Process roles. Each builds its dependencies once and passes them down.

`api` serves the HTTP API, `gateway` the realtime WebSocket gateway, and `serve` hosts
every role in one process on embedded defaults.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from metaverse.api.app import create_app
from metaverse.api.context import ApiContext
from metaverse.assets.seed import seed_demo
from metaverse.backends.eventlog import MemoryEventLog
from metaverse.clock import SystemClock
from metaverse.db.migrate import upgrade
from metaverse.gateway.directory import Directory
from metaverse.gateway.server import Gateway
from metaverse.settings import Settings

log = logging.getLogger("metaverse")


async def prepare(context: ApiContext) -> None:
    """Migrate, and seed the demo set once if the settings ask for it."""
    context.settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade(context.engine)
    if context.settings.seed_demo and await seed_demo(context.sessions):
        log.info("seeded the demo avatars, elements and map")


def build_gateway(context: ApiContext) -> Gateway:
    return Gateway(
        context.settings,
        context.clock,
        context.accounts.access_tokens,
        Directory(context.sessions),
        MemoryEventLog(),
        context.registry,
    )


def _server(app: FastAPI, settings: Settings) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        lifespan="on",
        server_header=False,
    )
    return uvicorn.Server(config)


async def run_api(settings: Settings) -> None:
    context = ApiContext.build(settings, SystemClock())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await prepare(context)
        try:
            yield
        finally:
            await context.close()

    await _server(create_app(context, lifespan), settings).serve()


async def run_gateway(settings: Settings) -> None:
    context = ApiContext.build(settings, SystemClock())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with build_gateway(context).serving(settings.host, settings.ws_port):
            log.info("gateway listening on ws://%s:%d/ws", settings.host, settings.ws_port)
            await stop.wait()
    finally:
        await context.close()


async def run_serve(settings: Settings) -> None:
    context = ApiContext.build(settings, SystemClock())
    try:
        await prepare(context)
        gateway = build_gateway(context)
        async with gateway.serving(settings.host, settings.ws_port):
            origin = settings.web_origin()
            log.info(
                "metaverse is up: %s (API docs at %s/docs), gateway on port %d",
                origin,
                origin,
                settings.ws_port,
            )
            await _server(create_app(context), settings).serve()
    finally:
        await context.close()
