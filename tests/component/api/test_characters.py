"""One character rule for every string the API takes: bodies, paths and query strings.

Controls and lone surrogates are refused with 400 `invalid_characters` on both
databases (PostgreSQL can't store NUL; SQLite would have stored it); chat text may hold
tabs and newlines; display names also refuse bidi and zero-width characters; usernames
are one name whatever their case."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.component.conftest import Api

NUL = "ab\u0000c"


def _refused(response: Any, field: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "invalid_characters", body
    assert [detail["field"] for detail in body["details"]] == [field]


@pytest.mark.parametrize("char", ["\u0000", "\u0007", "\n", "\u007f", "\u0085"])
async def test_signin_with_a_control_in_the_username_is_400(api: Api, char: str) -> None:
    response = await api.client.post(
        "/api/v1/signin", json={"username": f"ab{char}c", "password": "password1"}
    )
    _refused(response, "body.username")


async def test_a_lone_surrogate_in_a_body_is_400(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/token/refresh",
        content=b'{"refreshToken": "x\\udc00"}',
        headers={"content-type": "application/json"},
    )
    _refused(response, "body.refreshToken")


async def test_nested_strings_are_checked_and_named(api: Api) -> None:
    _, admin = await api.user(admin=True)
    area = {"name": NUL, "x": 0, "y": 0, "width": 1, "height": 1, "kind": "room"}
    response = await api.client.post(
        "/api/v1/admin/map",
        json={"name": "m", "dimensions": "5x5", "areas": [area]},
        headers=admin,
    )
    _refused(response, "body.areas.0.name")


async def test_other_errors_beside_a_bad_character_are_invalid_request(api: Api) -> None:
    response = await api.client.post("/api/v1/signup", json={"username": "a", "password": NUL})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/space/ab%00c", "path"),
        ("/api/v1/chatroom?spaceId=ab%00c", "query.spaceId"),
        ("/api/v1/chatroom?spaceId=s&x%01=1", "query"),
        ("/api/v1/user/metadata/bulk?ids=[a%C2%85]", "query.ids"),
        ("/api/v1/maps/ab%0Ac", "path"),
        ("/web/ab%00c.js", "path"),
        ("/nowhere%00", "path"),
    ],
)
async def test_paths_and_query_strings_are_checked_before_anything(
    api: Api, path: str, field: str
) -> None:
    _refused(await api.client.get(path), field)


async def test_chat_text_over_http_may_hold_tabs_and_newlines_but_no_other_controls(
    api: Api,
) -> None:
    _, owner = await api.user()
    space = await api.client.post(
        "/api/v1/space", json={"name": "s", "dimensions": "5x5"}, headers=owner
    )
    room = await api.client.post(
        "/api/v1/chatroom", json={"spaceId": space.json()["spaceId"], "name": "r"}, headers=owner
    )
    url = f"/api/v1/chatroom/{room.json()['id']}/messages"
    posted = await api.client.post(url, json={"text": "two\n\tlines"}, headers=owner)
    assert posted.status_code == 200, posted.text
    for text in ("nul\u0000", "bell\u0007", "escape\u001b[31m"):
        _refused(await api.client.post(url, json={"text": text}, headers=owner), "body.text")
    renamed = await api.client.patch(
        f"/api/v1/chatroom/{room.json()['id']}", json={"name": "two\nlines"}, headers=owner
    )
    _refused(renamed, "body.name")


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200b", "\u200d", "\u2060", "\ufeff"])
async def test_display_names_refuse_bidi_and_zero_width_characters(api: Api, char: str) -> None:
    _, user = await api.user()
    response = await api.client.patch(
        "/api/v1/user/me", json={"displayName": f"ad{char}min"}, headers=user
    )
    _refused(response, "body.displayName")
    fine = await api.client.patch(
        "/api/v1/user/me",
        json={"displayName": "Zoë مرحبا 🙂", "statusText": "in\u200bline"},
        headers=user,
    )
    assert fine.status_code == 200 and fine.json()["displayName"] == "Zoë مرحبا 🙂"


async def test_usernames_are_unique_whatever_their_case(api: Api) -> None:
    await api.signup("alice")
    for clash in ("ALICE", "Alice", "aLiCe"):
        response = await api.client.post(
            "/api/v1/signup", json={"username": clash, "password": "password1"}
        )
        assert response.status_code == 400 and response.json()["code"] == "username_taken"


async def test_sign_in_finds_the_name_whatever_its_case(api: Api) -> None:
    await api.signup("Alice")
    for typed in ("Alice", "alice", "ALICE"):
        response = await api.client.post(
            "/api/v1/signin", json={"username": typed, "password": "password1"}
        )
        assert response.status_code == 200, (typed, response.text)
    # The Kelvin sign lowers to "k" in Python; it is no letter of any username.
    await api.signup("kate")
    kelvin = await api.client.post(
        "/api/v1/signin", json={"username": "\u212aate", "password": "password1"}
    )
    assert kelvin.status_code == 403


@pytest.mark.parametrize("dimensions", ["10x10\n", "\u0661\u0660x\u0661\u0660", "10x10 "])
async def test_dimensions_take_ascii_digits_only(api: Api, dimensions: str) -> None:
    _, user = await api.user()
    response = await api.client.post(
        "/api/v1/space", json={"name": "s", "dimensions": dimensions}, headers=user
    )
    assert response.status_code == 400


# Every string an operation takes, found in the OpenAPI document, carries a NUL in turn.


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    if "anyOf" in schema:  # `X | None`: the non-null branch
        schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
        return _resolve(schema, document)
    return schema


def _example(schema: dict[str, Any], document: dict[str, Any]) -> Any:
    """A value of the schema's shape, every property present (not necessarily valid)."""
    schema = _resolve(schema, document)
    if "enum" in schema or "const" in schema:
        return schema.get("enum", [schema.get("const")])[0]
    kind = schema.get("type")
    if kind == "object":
        return {k: _example(v, document) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [_example(schema.get("items", {}), document)]
    return {"integer": 1, "number": 1, "boolean": True}.get(str(kind), "x")


def _string_paths(value: Any, schema: dict[str, Any], document: dict[str, Any]) -> list[list[Any]]:
    """Where the strings of `value` are, as key paths."""
    schema = _resolve(schema, document)
    if schema.get("type") == "object":
        properties = schema.get("properties", {})
        return [
            [key, *rest]
            for key, sub in properties.items()
            for rest in _string_paths(value[key], sub, document)
        ]
    if schema.get("type") == "array":
        return [[0, *rest] for rest in _string_paths(value[0], schema.get("items", {}), document)]
    return [[]] if isinstance(value, str) else []


def _with(value: Any, path: list[Any], replacement: Any) -> Any:
    if not path:
        return replacement
    copy = list(value) if isinstance(value, list) else dict(value)
    copy[path[0]] = _with(value[path[0]], path[1:], replacement)
    return copy


def _request(
    template: str, path_values: dict[str, str], query: dict[str, str], json: Any
) -> dict[str, Any]:
    url = template.format(**{name: quote(value, safe="") for name, value in path_values.items()})
    arguments: dict[str, Any] = {"url": url, "params": query}
    if json is not None:
        arguments["json"] = json
    return arguments


def _nul_requests(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, request arguments, the field that must be named) for every string."""
    cases = []
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            path_values = {p["name"]: "x" for p in parameters if p["in"] == "path"}
            body = None
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = _example(content["application/json"]["schema"], document)

            for parameter in parameters:
                if _resolve(parameter["schema"], document).get("type") != "string":
                    continue
                if parameter["in"] == "path":
                    values = {**path_values, parameter["name"]: NUL}
                    cases.append((method, template, _request(template, values, {}, body), "path"))
                elif parameter["in"] == "query":
                    query = {parameter["name"]: NUL}
                    field = f"query.{parameter['name']}"
                    cases.append(
                        (method, template, _request(template, path_values, query, body), field)
                    )
            if body is not None:
                schema = content["application/json"]["schema"]
                for where in _string_paths(body, schema, document):
                    field = ".".join(["body", *map(str, where)])
                    nul_body = _with(body, where, NUL)
                    cases.append(
                        (method, template, _request(template, path_values, {}, nul_body), field)
                    )
    return cases


async def test_a_nul_in_any_string_of_any_operation_is_400_naming_it(api: Api) -> None:
    _, admin = await api.user(admin=True)
    document = (await api.client.get("/openapi.json")).json()
    cases = _nul_requests(document)
    covered = {(method, path) for method, path, _, _ in cases}
    with_input = {
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("parameters") or "application/json" in str(operation.get("requestBody"))
    }
    assert covered == with_input, with_input - covered
    assert len(cases) > 70
    for method, template, arguments, field in cases:
        response = await api.client.request(method.upper(), headers=admin, **arguments)
        where = f"{method.upper()} {template} with a NUL in {field}"
        assert response.status_code == 400, (where, response.text)
        body = response.json()
        assert body["code"] in ("invalid_characters", "invalid_request"), (where, body)
        # A field of a union type is named with the branch after it (`body.thumbnail.str`).
        named = [detail["field"] for detail in body["details"]]
        assert any(f == field or f.startswith(f"{field}.") for f in named), (where, body)
