"""Readiness and metrics responses shared by every role's HTTP surface."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Response
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


async def readiness_response(checks: dict[str, Check]) -> JSONResponse:
    """200 `{"status": "ok", "checks": {...}}` when every check passes, else 503."""
    ready, results = await run_checks(checks)
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": results},
        status_code=200 if ready else 503,
    )


def metrics_response(registry: CollectorRegistry) -> Response:
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
