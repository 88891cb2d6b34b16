"""The HTTP application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from metaverse import __version__
from metaverse.api.context import ApiContext
from metaverse.api.errors import install_error_handlers
from metaverse.api.middleware import (
    BodyLimitMiddleware,
    HttpMetrics,
    MetricsMiddleware,
    TextParamsMiddleware,
)
from metaverse.api.openapi import install_openapi
from metaverse.api.routes import (
    admin,
    admin_users,
    analytics,
    auth,
    catalogue,
    chat,
    docs,
    guests,
    health,
    invites,
    media,
    members,
    rtc,
    spaces,
    users,
    web,
)
from metaverse.api.security import SecurityHeadersMiddleware
from metaverse.assets.demo import ASSETS_URL_PREFIX, STATIC_DIR
from metaverse.media.store import MEDIA_URL_PREFIX, MediaStore

API_PREFIX = "/api/v1"

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def _no_lifespan(_app: FastAPI) -> AsyncIterator[None]:
    yield


def _api_router() -> APIRouter:
    router = APIRouter()
    for area in (
        auth,
        users,
        catalogue,
        admin,
        admin_users,
        media,
        chat,
        analytics,
        rtc,
        invites,
        guests,
    ):
        router.include_router(area.router)
    router.include_router(web.api_router)
    # The original system's README writes `/spaces...`; its code serves `/space...`.
    # Both answer the same; only the singular appears in the OpenAPI document.
    for prefix, listed in (("/space", True), ("/spaces", False)):
        router.include_router(spaces.router, prefix=prefix, include_in_schema=listed)
        router.include_router(members.router, prefix=prefix, include_in_schema=listed)
    return router


def create_app(context: ApiContext, lifespan: Lifespan | None = None) -> FastAPI:
    app = FastAPI(
        title="metaverse",
        version=__version__,
        summary="A self-hostable 2D virtual space with proximity video calls and spatial chat.",
        lifespan=lifespan or _no_lifespan,
        # One documentation page, served with a policy of its own (`routes/docs.py`).
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = context
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(_api_router(), prefix=API_PREFIX)
    app.include_router(health.router)
    app.include_router(docs.router)
    app.include_router(web.pages)
    app.mount(ASSETS_URL_PREFIX, StaticFiles(directory=STATIC_DIR), name="assets")
    app.mount(web.WEB_URL_PREFIX, web.web_files(), name="web")
    store = MediaStore.in_data_dir(context.settings.data_dir)
    store.ensure()
    app.mount(MEDIA_URL_PREFIX, web.media_files(store.directory), name="media")

    if context.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=context.settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["authorization", "content-type"],
            max_age=600,
        )
    app.add_middleware(TextParamsMiddleware)
    # Uploads may be larger than any JSON body, on their one route only.
    upload_limit = {API_PREFIX + media.UPLOAD_PATH: media.MAX_UPLOAD_BODY_BYTES}
    app.add_middleware(BodyLimitMiddleware, limits=upload_limit)
    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(context.registry))
    settings = context.settings
    app.add_middleware(
        SecurityHeadersMiddleware, gateway_url=settings.gateway_url, ws_port=settings.ws_port
    )
    return app
