"""The consumer's own small HTTP app on HEALTH_PORT: /healthz, /readyz, /metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

Check = Callable[[], Awaitable[None]]


async def run_checks(checks: dict[str, Check]) -> tuple[bool, dict[str, str]]:
    """Run each readiness check; any exception means that dependency is not ready."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await check()
            results[name] = "ok"
        except Exception as exc:  # report which dependency failed, whatever the reason
            results[name] = f"error: {type(exc).__name__}"
    return all(value == "ok" for value in results.values()), results


def create_health_app(registry: CollectorRegistry, checks: dict[str, Check]) -> FastAPI:
    app = FastAPI(title="metaverse consumer", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> Any:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Any:
        ready, results = await run_checks(checks)
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": results},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
