"""Security headers on every response: the content policy, nosniff, no referrer."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from metaverse.api.security import content_security_policy
from tests.component.conftest import Api, ApiFactory


def _directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in policy.split("; "))}


@pytest.mark.parametrize(
    "path",
    ["/", "/spaces/s1", "/web/app.js", "/api/v1/config", "/healthz", "/api/v1/nope", "/metrics"],
)
async def test_every_response_carries_the_headers(api: Api, path: str) -> None:
    response = await api.client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = _directives(response.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]


async def test_errors_refused_below_the_routes_carry_them_too(api: Api) -> None:
    for response in (
        await api.client.get("/api/v1/space/a%00b"),
        await api.client.post("/api/v1/signin", content=b"x" * 2_000_000),
    ):
        assert response.status_code in (400, 413)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_connections_may_go_to_the_gateway_the_page_is_told_about(api: Api) -> None:
    for host in ("127.0.0.1:3000", "localhost", "[::1]:3000", "meet.example.org"):
        config = await api.client.get("/api/v1/config", headers={"host": host})
        gateway = re.match(r"wss?://[^/]+", config.json()["gatewayUrl"])
        assert gateway is not None
        page = await api.client.get("/", headers={"host": host})
        connect = _directives(page.headers["content-security-policy"])["connect-src"]
        assert connect == ["'self'", gateway[0]], host


async def test_a_configured_gateway_is_the_one_allowed(api_factory: ApiFactory) -> None:
    api = await api_factory(gateway_url="wss://rt.example.org/ws")
    page = await api.client.get("/", headers={"host": "x"})
    connect = _directives(page.headers["content-security-policy"])["connect-src"]
    assert connect == ["'self'", "wss://rt.example.org"]


def test_a_malformed_origin_is_left_out() -> None:
    connect = _directives(content_security_policy("ws://a;script-src *"))["connect-src"]
    assert connect == ["'self'"]


async def test_the_docs_page_allows_its_own_inline_script_by_hash_and_nothing_else(
    api: Api,
) -> None:
    response = await api.client.get("/docs")
    assert response.status_code == 200
    policy = _directives(response.headers["content-security-policy"])
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy["script-src"]
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    for src in re.findall(r'(?:src|href)="(https://[^/"]+)', response.text):
        assert src in policy["script-src"] + policy["style-src"] + policy["img-src"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert (await api.client.get("/redoc")).status_code == 404
