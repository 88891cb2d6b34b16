"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from metaverse.api.deps import Context
from metaverse.consumer.health import run_checks

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> Any:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(context: Context) -> Any:
    ready, checks = await run_checks(context.readiness_checks())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics")
async def metrics(context: Context) -> Response:
    return Response(generate_latest(context.registry), media_type=CONTENT_TYPE_LATEST)
