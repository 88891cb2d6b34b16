"""Process roles. Each builds its dependencies once, in its lifespan, and passes them down.

`api` serves the HTTP API; `serve` hosts every role that exists in one process (for now
the API: the gateway and the consumer join it as they are built).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from metaverse.api.app import create_app
from metaverse.api.context import ApiContext
from metaverse.assets.seed import seed_demo
from metaverse.clock import SystemClock
from metaverse.db.migrate import upgrade
from metaverse.settings import Settings

log = logging.getLogger("metaverse")


def build_api(settings: Settings) -> FastAPI:
    context = ApiContext.build(settings, SystemClock())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade(context.engine)
        if settings.seed_demo and await seed_demo(context.sessions):
            log.info("seeded the demo avatars, elements and map")
        try:
            yield
        finally:
            await context.close()

    return create_app(context, lifespan)


def _server(app: FastAPI, settings: Settings, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        log_level=settings.log_level,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        lifespan="on",
        server_header=False,
    )
    return uvicorn.Server(config)


async def run_api(settings: Settings) -> None:
    await _server(build_api(settings), settings, settings.port).serve()


async def run_serve(settings: Settings) -> None:
    log.info(
        "metaverse is starting on %s (API and docs at %s/docs)",
        settings.web_origin(),
        settings.web_origin(),
    )
    await run_api(settings)
