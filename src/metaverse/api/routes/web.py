"""The browser client: its page routes, its static files, and the config it starts from.

The client is plain ES modules in `metaverse/web/`, served at `/web/`. Every page route
answers with the same `index.html`; the client's router picks the screen from the URL.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from metaverse import __version__
from metaverse.api.deps import Context
from metaverse.errors import NotFound
from metaverse.media.uploads import MAX_UPLOAD_BYTES

WEB_DIR: Final = Path(__file__).resolve().parents[2] / "web"
WEB_URL_PREFIX: Final = "/web"
PAGE_ROUTES: Final = (
    "/",
    "/login",
    "/signup",
    "/profile",
    "/editor",
    "/editor/{map_id}",
    "/spaces/{space_id}",
    "/spaces/{space_id}/settings",
    "/admin/users",
    "/invite/{token}",
)
# Browsers run module scripts only with a JavaScript type; don't leave it to the host's
# mime.types (some map .js to text/plain or nothing, and .mjs is often missing).
CONTENT_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}
REVALIDATE: Final = "no-cache"
FOREVER: Final = "public, max-age=31536000, immutable"

api_router = APIRouter(tags=["web"])
pages = APIRouter(include_in_schema=False)


class CachedFiles(StaticFiles):
    """Static files with a fixed `Cache-Control` and explicit types for the web's files."""

    def __init__(self, *, directory: Path, cache_control: str) -> None:
        super().__init__(directory=directory)
        self.cache_control = cache_control

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = self.cache_control
        response.headers["x-content-type-options"] = "nosniff"
        content_type = CONTENT_TYPES.get(Path(full_path).suffix.lower())
        if content_type and "content-type" in response.headers:
            response.headers["content-type"] = content_type
        return response


def web_files() -> CachedFiles:
    # `no-cache` is "revalidate every time", not "don't cache": the ETag makes a reload
    # cost a 304 per file, and an updated platform is seen at once.
    return CachedFiles(directory=WEB_DIR, cache_control=REVALIDATE)


def media_files(directory: Path) -> CachedFiles:
    # Media files are named by their content's hash: a URL never changes meaning.
    return CachedFiles(directory=directory, cache_control=FOREVER)


def index_page() -> FileResponse:
    index = WEB_DIR / "index.html"
    if not index.is_file():
        raise NotFound("the browser client is not installed")
    return FileResponse(
        index, media_type="text/html; charset=utf-8", headers={"cache-control": REVALIDATE}
    )


for _path in PAGE_ROUTES:
    pages.add_api_route(_path, index_page, methods=["GET", "HEAD"])


def gateway_url(request: Request, configured: str | None, ws_port: int) -> str:
    """The configured URL, or the gateway's port on the host this page was loaded from."""
    if configured:
        return configured
    scheme = "wss" if request.url.scheme == "https" else "ws"
    host = request.url.hostname or "localhost"
    if ":" in host:  # an IPv6 literal goes back in brackets
        host = f"[{host}]"
    return f"{scheme}://{host}:{ws_port}/ws"


@api_router.get("/config")
async def get_config(request: Request, context: Context) -> Any:
    settings = context.settings
    return {
        "gatewayUrl": gateway_url(request, settings.gateway_url, settings.ws_port),
        "version": __version__,
        "mediaMaxBytes": MAX_UPLOAD_BYTES,
        # Lets the sign-up form offer an admin account only where one would be granted.
        "adminSignup": settings.admin_signup,
    }
