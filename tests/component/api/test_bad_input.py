"""Bad input anywhere gets a 4xx with the documented JSON shape and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.component.conftest import Api


@pytest.mark.parametrize("path", ["/api/v1/signup", "/api/v1/signin", "/api/v1/token/refresh"])
async def test_malformed_json(api: Api, path: str) -> None:
    response = await api.client.post(
        path, content=b'{"username": "ada",', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_json",
        "message": "the request body is not valid JSON",
    }


async def test_malformed_json_on_authenticated_routes(api: Api) -> None:
    _, user = await api.user()
    response = await api.client.post(
        "/api/v1/space", content=b"{{", headers={**user, "content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_json"
    anonymous = await api.client.post(
        "/api/v1/space", content=b"{{", headers={"content-type": "application/json"}
    )
    assert anonymous.status_code == 403


async def test_validation_errors_name_the_field(api: Api) -> None:
    response = await api.client.post("/api/v1/signup", json={"username": "ada", "password": 5})
    body = response.json()
    assert body["code"] == "invalid_request"
    assert any(detail["field"] == "body.password" for detail in body["details"])
    assert "Traceback" not in response.text


async def test_huge_body_is_refused(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/signup", json={"username": "ada", "password": "p" * 2_000_000}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_huge_chunked_body_is_refused_with_413(api: Api) -> None:
    """No Content-Length: the body is counted as it arrives, and the 413 goes out as soon as
    it passes the limit, whatever the route would have made of the rest."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"username": "ada", "password": "'
        for _ in range(40):
            yield b"p" * 64 * 1024
        yield b'"}'

    response = await api.client.post(
        "/api/v1/signup", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize("value", [2**63, -(2**63), 1e308, 10**30])
async def test_huge_numbers(api: Api, value: float) -> None:
    _, user = await api.user()
    response = await api.client.post(
        "/api/v1/space", json={"name": "s", "dimensions": "10x10"}, headers=user
    )
    space_id = response.json()["spaceId"]
    placed = await api.client.post(
        "/api/v1/space/element",
        json={"elementId": "x", "spaceId": space_id, "x": value, "y": 1},
        headers=user,
    )
    assert placed.status_code == 400


async def test_sql_metacharacters_are_just_text(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/signin", json={"username": "' OR 1=1 --", "password": "' OR '1'='1"}
    )
    assert response.status_code == 403
    _, user = await api.user()
    named = await api.client.post(
        "/api/v1/space",
        json={"name": "'); DROP TABLE spaces; --", "dimensions": "5x5"},
        headers=user,
    )
    space = await api.client.get(f"/api/v1/space/{named.json()['spaceId']}", headers=user)
    assert space.json()["name"] == "'); DROP TABLE spaces; --"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/v1/space/s1", "GET, PATCH, DELETE"),
        ("PUT", "/api/v1/chatroom", "GET, POST"),
        ("POST", "/api/v1/chatroom/r1/messages/m1", "DELETE"),
        ("PATCH", "/api/v1/signup", "POST"),
        ("POST", "/", "GET, HEAD"),
        ("POST", "/web/app.js", "GET, HEAD"),
    ],
)
async def test_405_names_every_method_the_path_takes(
    api: Api, method: str, path: str, allow: str
) -> None:
    response = await api.client.request(method, path)
    assert response.status_code == 405
    assert response.headers.get_list("allow") == [allow]
    assert response.json()["code"] == "method_not_allowed"
