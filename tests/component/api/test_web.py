"""Serving the browser client: page routes, its static files, `/config`, allowed origins."""

from __future__ import annotations

import re

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from metaverse.api.routes.web import WEB_DIR
from metaverse.roles import build_gateway
from metaverse.settings import Settings
from tests.component.conftest import Api, ApiFactory
from tests.loopback import free_port

PAGES = ["/", "/login", "/signup", "/profile", "/editor", "/editor/m1", "/spaces/s1"]


@pytest.mark.parametrize("path", PAGES)
async def test_page_routes_answer_with_the_client(api: Api, path: str) -> None:
    response = await api.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == (WEB_DIR / "index.html").read_bytes()
    assert '<script type="module" src="/web/app.js">' in response.text
    head = await api.client.head(path)
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize(
    "path", ["/nope", "/spaces", "/spaces/s1/extra", "/editor/m1/x", "/api/v1/nope", "/web/nope.js"]
)
async def test_other_paths_stay_json_404s(api: Api, path: str) -> None:
    response = await api.client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_client_modules_are_javascript_and_revalidated(api: Api) -> None:
    response = await api.client.get("/web/app.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == (WEB_DIR / "app.js").read_bytes()
    again = await api.client.get("/web/app.js", headers={"if-none-match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["cache-control"] == "no-cache"
    css = await api.client.get("/web/styles.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"


async def test_web_files_cannot_reach_outside_their_folder(api: Api) -> None:
    for path in ("/web/../settings.py", "/web/%2e%2e/settings.py", "/web/..%2fsettings.py"):
        response = await api.client.get(path)
        assert response.status_code == 404, path


# Anything that makes a browser load from another host: src/href, CSS url(), imports.
REMOTE_LOAD = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*|url\(\s*|\bfrom\s+|\bimport\s*\(\s*)["']?(?:https?:)?//"""
)


def test_the_client_loads_nothing_from_other_hosts() -> None:
    files = [p for p in WEB_DIR.rglob("*") if p.suffix in (".html", ".js", ".css")]
    assert files
    for path in files:
        assert REMOTE_LOAD.search(path.read_text()) is None, path


async def test_demo_assets_are_still_served(api: Api) -> None:
    response = await api.client.get("/assets/elements/desk.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")


async def test_config_points_at_the_gateway_on_the_pages_host(api: Api) -> None:
    response = await api.client.get("/api/v1/config")
    assert response.status_code == 200
    assert response.json() == {
        "gatewayUrl": "ws://testserver:3001/ws",
        "version": "0.1.0",
        "mediaMaxBytes": 2097152,
        "adminSignup": "open",
    }
    for host, url in (
        ("127.0.0.1:3000", "ws://127.0.0.1:3001/ws"),
        ("localhost", "ws://localhost:3001/ws"),
        ("[::1]:3000", "ws://[::1]:3001/ws"),
        ("meet.example.org", "ws://meet.example.org:3001/ws"),
    ):
        config = await api.client.get("/api/v1/config", headers={"host": host})
        assert config.json()["gatewayUrl"] == url, host


async def test_config_over_https_uses_wss(api_factory: ApiFactory) -> None:
    api = await api_factory(ws_port=4443)
    config = (await api.client.get("https://meet.example.org/api/v1/config")).json()
    assert config["gatewayUrl"] == "wss://meet.example.org:4443/ws"


async def test_configured_gateway_url_wins(api_factory: ApiFactory) -> None:
    api = await api_factory(gateway_url="wss://rt.example.org/ws")
    config = (await api.client.get("/api/v1/config", headers={"host": "x"})).json()
    assert config["gatewayUrl"] == "wss://rt.example.org/ws"
    closed = await api_factory(admin_signup="closed")
    assert (await closed.client.get("/api/v1/config")).json()["adminSignup"] == "closed"


def test_web_origins_are_every_loopback_name_without_a_public_url() -> None:
    local = Settings(_env_file=None, port=4000)
    assert local.web_origins() == [
        "http://localhost:4000",
        "http://127.0.0.1:4000",
        "http://[::1]:4000",
    ]
    public = Settings(_env_file=None, public_url="https://meet.example.org/")
    assert public.web_origins() == ["https://meet.example.org"]
    lan = Settings(_env_file=None, host="192.168.1.5", port=3000)
    assert lan.web_origins()[0] == "http://192.168.1.5:3000"
    assert "http://127.0.0.1:3000" in lan.web_origins()


async def test_gateway_accepts_pages_opened_by_any_loopback_name(api_factory: ApiFactory) -> None:
    api = await api_factory(port=4000)
    port = free_port()
    async with build_gateway(api.context).serving("127.0.0.1", port):
        url = f"ws://127.0.0.1:{port}/ws"
        for origin in ("http://localhost:4000", "http://127.0.0.1:4000", "http://[::1]:4000"):
            async with connect(url, origin=origin):  # type: ignore[arg-type]
                pass
        for origin in ("http://127.0.0.1:4001", "https://evil.example"):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url, origin=origin):  # type: ignore[arg-type]
                    pass
            assert refused.value.response.status_code == 403
