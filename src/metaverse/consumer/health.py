"""The consumer's own small HTTP app on HEALTH_PORT: /healthz, /readyz, /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry

from metaverse.health import Check, metrics_response, readiness_response


def create_health_app(registry: CollectorRegistry, checks: dict[str, Check]) -> FastAPI:
    app = FastAPI(title="metaverse consumer", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> Any:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        return await readiness_response(checks)

    @app.get("/metrics")
    async def metrics() -> Response:
        return metrics_response(registry)

    return app
