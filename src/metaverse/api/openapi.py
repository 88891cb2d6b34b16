"""The OpenAPI document as the API really answers.

FastAPI documents a 422 for every route with input; this API answers invalid input with
400 and the shared error body (`errors.ErrorBody`). Every operation here lists what it
can answer besides its success: 400 when it takes parameters or a body, 413 when it takes
a body, 401 and 403 when it needs a token (with the bearer scheme as its `security`),
and whatever its route declares itself (`errors(...)` in its decorator: 404, 429, 503).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from metaverse.api.deps import auth_requirement
from metaverse.api.errors import ErrorBody

BEARER: Final = "bearer"
DESCRIPTIONS: Final = {
    400: "Invalid input: `invalid_request` (with `details`), `invalid_json`, "
    "`invalid_characters`, `unknown_id`, or the rule it breaks",
    401: "The token is invalid or expired (`invalid_token`)",
    403: "No token (`not_authenticated`), or not allowed (`forbidden`, ...)",
    404: "Nothing has that id (`not_found`)",
    409: "A conflicting change won (`conflict`)",
    410: "The invite link can't be used any more: `invite_expired`, `invite_used_up`, "
    "`invite_revoked`",
    413: "The body is over the size limit (`payload_too_large`)",
    429: "Too many attempts (`rate_limited`); `Retry-After` says when to try again",
    503: "A backing service is unavailable (`unavailable`); try again",
}
_RETRY_AFTER: Final = {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route decorator: these statuses, with the error body."""
    return {status: _error(status) for status in statuses}


def _error(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"model": ErrorBody, "description": DESCRIPTIONS[status]}
    if status == 429:
        response["headers"] = _RETRY_AFTER
    return response


def install_openapi(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_errors(generate(), app)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_errors(schema: dict[str, Any], app: FastAPI) -> None:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components["securitySchemes"] = {BEARER: {"type": "http", "scheme": "bearer"}}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or context.path_format not in schema["paths"]:
            continue
        operations = schema["paths"][context.path_format]
        for method in context.methods or ():
            operation = operations.get(method.lower())
            if operation is not None:
                _document_operation(operation, auth_requirement(route.dependant) is not None)


def _document_operation(operation: dict[str, Any], authenticated: bool) -> None:
    responses = operation["responses"]
    responses.pop("422", None)
    statuses = set()
    if operation.get("parameters") or "requestBody" in operation:
        statuses.add(400)
    if "requestBody" in operation:
        statuses.add(413)
    if authenticated:
        statuses |= {401, 403}
        operation["security"] = [{BEARER: []}]
    for status in sorted(statuses):
        responses.setdefault(str(status), _documented(status))


def _documented(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    if status == 429:
        response["headers"] = _RETRY_AFTER
    return response
