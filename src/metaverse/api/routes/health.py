"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from metaverse.api.deps import Context
from metaverse.health import metrics_response, readiness_response

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> Any:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(context: Context) -> JSONResponse:
    return await readiness_response(context.readiness_checks())


@router.get("/metrics")
async def metrics(context: Context) -> Response:
    return metrics_response(context.registry)
