"""Profiles, avatar choice and the public avatar look-up."""

from __future__ import annotations

import pytest

from tests.component.conftest import Api


async def _avatar(api: Api, admin: dict[str, str], name: str = "Timmy") -> str:
    response = await api.client.post(
        "/api/v1/admin/avatar",
        json={"imageUrl": f"https://x/{name}.png", "name": name},
        headers=admin,
    )
    avatar_id: str = response.json()["avatarId"]
    return avatar_id


async def test_set_avatar_and_read_it_in_bulk(api: Api) -> None:
    _, admin = await api.user(admin=True)
    avatar = await _avatar(api, admin)
    user_id, user = await api.user()
    bare_id, _ = await api.user()
    response = await api.client.post(
        "/api/v1/user/metadata", json={"avatarId": avatar}, headers=user
    )
    assert response.status_code == 200

    bulk = await api.client.get(f"/api/v1/user/metadata/bulk?ids=[{user_id},{bare_id},unknown]")
    assert bulk.status_code == 200
    assert bulk.json() == {
        "avatars": [
            {"userId": user_id, "imageUrl": "https://x/Timmy.png"},
            {"userId": bare_id, "imageUrl": None},
        ]
    }


@pytest.mark.parametrize("template", ['["{a}", "{b}"]', "[ {a} , '{b}' ]", "{a},{b}", "[{a},{b},]"])
async def test_bulk_tolerates_quotes_and_spaces(api: Api, template: str) -> None:
    a, _ = await api.user()
    b, _ = await api.user()
    response = await api.client.get(
        "/api/v1/user/metadata/bulk", params={"ids": template.format(a=a, b=b)}
    )
    assert [entry["userId"] for entry in response.json()["avatars"]] == [a, b]


async def test_bulk_edge_cases(api: Api) -> None:
    a, _ = await api.user()
    assert (await api.client.get("/api/v1/user/metadata/bulk?ids=[]")).json() == {"avatars": []}
    assert (await api.client.get("/api/v1/user/metadata/bulk")).json() == {"avatars": []}
    twice = await api.client.get(f"/api/v1/user/metadata/bulk?ids=[{a},{a}]")
    assert len(twice.json()["avatars"]) == 1
    too_many = ",".join(f"id{i}" for i in range(201))
    assert (await api.client.get(f"/api/v1/user/metadata/bulk?ids=[{too_many}]")).status_code == 400


async def test_metadata_errors(api: Api) -> None:
    _, user = await api.user()
    assert (
        await api.client.post("/api/v1/user/metadata", json={"avatarId": "nope"}, headers=user)
    ).status_code == 400
    assert (
        await api.client.post("/api/v1/user/metadata", json={"avatarId": 5}, headers=user)
    ).status_code == 400
    assert (
        await api.client.post("/api/v1/user/metadata", json={"avatarId": "nope"})
    ).status_code == 403


async def test_profile_read_and_update(api: Api) -> None:
    _, admin = await api.user(admin=True)
    avatar = await _avatar(api, admin)
    user_id, user = await api.user()
    me = (await api.client.get("/api/v1/user/me", headers=user)).json()
    assert me["id"] == user_id and me["role"] == "user" and me["status"] == "available"
    assert "password" not in str(me).lower() and "hash" not in str(me).lower()

    changed = await api.client.patch(
        "/api/v1/user/me",
        json={
            "displayName": "Ada L.",
            "statusText": "writing notes",
            "avatarId": avatar,
            "status": "busy",
        },
        headers=user,
    )
    assert changed.status_code == 200
    body = changed.json()
    assert (
        body["displayName"],
        body["statusText"],
        body["avatarId"],
        body["avatarUrl"],
        body["status"],
    ) == ("Ada L.", "writing notes", avatar, "https://x/Timmy.png", "busy")
    partial = await api.client.patch("/api/v1/user/me", json={"statusText": None}, headers=user)
    assert partial.json()["statusText"] is None and partial.json()["displayName"] == "Ada L."


@pytest.mark.parametrize(
    "body",
    [
        {"displayName": "d" * 65},
        {"statusText": "s" * 141},
        {"avatarId": "unknown"},
        {"status": "asleep"},
        {"status": None},
        {"displayName": 7},
    ],
)
async def test_profile_validation(api: Api, body: dict[str, object]) -> None:
    _, user = await api.user()
    response = await api.client.patch("/api/v1/user/me", json=body, headers=user)
    assert response.status_code == 400
    me = (await api.client.get("/api/v1/user/me", headers=user)).json()
    assert me["displayName"] is None and me["status"] == "available"
