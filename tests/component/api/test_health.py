"""Liveness, readiness, metrics, docs and static assets."""

from __future__ import annotations

from tests.component.conftest import Api, ApiFactory


async def test_health_and_readiness(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_readiness_fails_when_the_database_is_gone(api_factory: ApiFactory) -> None:
    api = await api_factory(database_url="postgresql+asyncpg://nobody:nothing@127.0.0.1:9/none")
    ready = await api.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["checks"]["database"].startswith("error")


async def test_metrics_count_requests_by_route_template(api: Api) -> None:
    _, user = await api.user()
    await api.client.get("/api/v1/space/some-id", headers=user)
    text = (await api.client.get("/metrics")).text
    series = 'method="GET",route="/api/v1/space/{space_id}",status="400"'
    assert f"metaverse_http_requests_total{{{series}}} 1.0" in text
    assert "metaverse_http_request_duration_seconds_bucket" in text
    assert "some-id" not in text


async def test_openapi_docs_are_served(api: Api) -> None:
    assert (await api.client.get("/docs")).status_code == 200
    schema = (await api.client.get("/openapi.json")).json()
    assert "/api/v1/signup" in schema["paths"] and "/api/v1/space/{space_id}" in schema["paths"]
    assert not any(path.startswith("/api/v1/spaces") for path in schema["paths"])


async def test_unknown_route_and_method_are_json(api: Api) -> None:
    missing = await api.client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = await api.client.put("/api/v1/signup", json={})
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"


async def test_cors_allow_list(api_factory: ApiFactory) -> None:
    api = await api_factory(cors_origins=["https://app.example"])
    preflight = {"access-control-request-method": "POST"}
    allowed = await api.client.options(
        "/api/v1/signin", headers={"origin": "https://app.example", **preflight}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    other = await api.client.options(
        "/api/v1/signin", headers={"origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in other.headers


async def test_no_cross_origin_access_by_default(api: Api) -> None:
    response = await api.client.get("/api/v1/avatars", headers={"origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
