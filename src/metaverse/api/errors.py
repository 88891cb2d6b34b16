"""One JSON error shape for every failure: `{"code", "message", "details"?}`, never a trace."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from metaverse.api.fields import INVALID_CHARACTERS
from metaverse.errors import MetaverseError, RateLimited

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "invalid_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# Pydantic's own `string_unicode`: a JSON string holding half of a UTF-16 pair.
_CHARACTER_ERRORS = frozenset({INVALID_CHARACTERS, "string_unicode"})


class ErrorBody(BaseModel):
    """What every error answer holds; `details` (a list of `{field, message}` for invalid
    input) only where there is more to say."""

    code: str
    message: str
    details: Any = None


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def _describe(error: Any) -> dict[str, str]:
    location = ".".join(str(part) for part in error.get("loc", ()))
    return {"field": location, "message": str(error.get("msg", "invalid"))}


async def _metaverse_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MetaverseError)
    headers = None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    # The contract answers invalid bodies with 400, not FastAPI's 422.
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return error_response(400, "invalid_json", "the request body is not valid JSON")
    if all(error.get("type") in _CHARACTER_ERRORS for error in errors):
        return error_response(
            400,
            INVALID_CHARACTERS,
            "the request holds characters that can't be stored",
            [_describe(e) for e in errors],
        )
    return error_response(
        400, "invalid_request", "the request is invalid", [_describe(e) for e in errors]
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers = {name.lower(): value for name, value in (exc.headers or {}).items()}
    if exc.status_code == 405:
        headers["allow"] = _allowed_methods(request) or headers.get("allow", "")
    return error_response(exc.status_code, code, str(exc.detail), headers=headers or None)


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at this path: Starlette's 405 names only the methods
    of the first route whose path matched, and each FastAPI route has one. Mounts (static
    files) answer their own 405 with their own list."""
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    allowed = [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    ]
    return ", ".join(allowed)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "something went wrong on our side")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MetaverseError, _metaverse_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
