"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

from metaverse.api.deps import Context
from metaverse.health import metrics_response, readiness_response

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]


_NOT_READY = {"model": Readiness, "description": "Some dependency is not ready (see `checks`)"}


@router.get("/healthz")
async def healthz() -> Any:
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, responses={503: _NOT_READY})
async def readyz(context: Context) -> JSONResponse:
    return await readiness_response(context.readiness_checks())


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"description": "Prometheus text format"}},
)
async def metrics(context: Context) -> Response:
    return metrics_response(context.registry)
