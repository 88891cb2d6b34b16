"""Spaces and their elements: the contract's `/space` routes and their `/spaces` aliases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from metaverse.db.models import SpaceArea, SpaceElement, SpaceMember
from tests.component.conftest import Api


async def _map(api: Api, admin: dict[str, str]) -> tuple[str, str]:
    element = await api.element(admin, width=1, height=1, static=True)
    body = {
        "thumbnail": "https://x/thumb.png",
        "dimensions": "100x200",
        "name": "Office",
        "defaultElements": [
            {"elementId": element, "x": 20, "y": 20},
            {"elementId": element, "x": 18, "y": 20},
            {"elementId": element, "x": 19, "y": 20},
        ],
        "areas": [{"name": "Library", "x": 1, "y": 1, "width": 4, "height": 4, "kind": "silent"}],
    }
    response = await api.client.post("/api/v1/admin/map", json=body, headers=admin)
    return response.json()["id"], element


@pytest.mark.parametrize("prefix", ["/api/v1/space", "/api/v1/spaces"])
async def test_space_lifecycle(api: Api, prefix: str) -> None:
    _, admin = await api.user(admin=True)
    _, user = await api.user()
    map_id, element = await _map(api, admin)

    created = await api.client.post(
        prefix, json={"name": "Test", "dimensions": "100x200", "mapId": map_id}, headers=user
    )
    assert created.status_code == 200
    assert set(created.json()) == {"spaceId"}
    space_id = created.json()["spaceId"]

    space = await api.client.get(f"{prefix}/{space_id}", headers=user)
    assert space.status_code == 200
    body = space.json()
    assert body["dimensions"] == "100x200"
    assert body["id"] == space_id and body["name"] == "Test" and body["mapId"] == map_id
    assert len(body["elements"]) == 3
    first = body["elements"][0]
    assert set(first) == {"id", "element", "x", "y"}
    assert first["element"] == {
        "id": element,
        "imageUrl": "https://example.com/e.png",
        "width": 1,
        "height": 1,
        "static": True,
    }
    assert body["areas"] == [
        {"name": "Library", "x": 1, "y": 1, "width": 4, "height": 4, "kind": "silent"}
    ]

    added = await api.client.post(
        f"{prefix}/element",
        json={"elementId": element, "spaceId": space_id, "x": 50, "y": 20},
        headers=user,
    )
    assert added.status_code == 200
    elements = (await api.client.get(f"{prefix}/{space_id}", headers=user)).json()["elements"]
    assert len(elements) == 4

    removed = await api.client.request(
        "DELETE", f"{prefix}/element", json={"id": elements[0]["id"]}, headers=user
    )
    assert removed.status_code == 200
    assert len((await api.client.get(f"{prefix}/{space_id}", headers=user)).json()["elements"]) == 3

    listing = await api.client.get(f"{prefix}/all", headers=user)
    assert listing.status_code == 200
    spaces = listing.json()["spaces"]
    assert [s["id"] for s in spaces] == [space_id]
    assert {"id", "name", "thumbnail", "dimensions"} <= set(spaces[0])
    assert spaces[0]["dimensions"] == "100x200" and spaces[0]["thumbnail"] == "https://x/thumb.png"

    deleted = await api.client.delete(f"{prefix}/{space_id}", headers=user)
    assert deleted.status_code == 200
    assert (await api.client.get(f"{prefix}/{space_id}", headers=user)).status_code == 400
    assert (await api.client.get(f"{prefix}/all", headers=user)).json() == {"spaces": []}


async def test_space_without_map_or_dimensions_is_400(api: Api) -> None:
    _, user = await api.user()
    response = await api.client.post("/api/v1/space", json={"name": "Test"}, headers=user)
    assert response.status_code == 400
    assert response.json()["code"] == "dimensions_or_map"


async def test_space_with_dimensions_only(api: Api) -> None:
    _, user = await api.user()
    response = await api.client.post(
        "/api/v1/space", json={"name": "Empty", "dimensions": "7x3"}, headers=user
    )
    space = (
        await api.client.get(f"/api/v1/space/{response.json()['spaceId']}", headers=user)
    ).json()
    assert space["dimensions"] == "7x3" and space["elements"] == [] and space["mapId"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "dimensions": "abc"},
        {"name": "x", "dimensions": "12345x1"},
        {"name": "x", "mapId": "unknown"},
        {"name": "", "dimensions": "10x10"},
        {"name": "n" * 65, "dimensions": "10x10"},
        {"name": "x", "dimensions": "10x10", "visibility": "secret"},
        {"dimensions": "10x10"},
    ],
)
async def test_space_creation_validation(api: Api, body: dict[str, object]) -> None:
    _, user = await api.user()
    response = await api.client.post("/api/v1/space", json=body, headers=user)
    assert response.status_code == 400
    assert (await api.client.get("/api/v1/space/all", headers=user)).json() == {"spaces": []}


async def test_space_routes_need_auth(api: Api) -> None:
    for method, path in [
        ("POST", "/api/v1/space"),
        ("GET", "/api/v1/space/all"),
        ("GET", "/api/v1/space/some-id"),
        ("DELETE", "/api/v1/space/some-id"),
        ("POST", "/api/v1/space/element"),
        ("DELETE", "/api/v1/space/element"),
    ]:
        response = await api.client.request(method, path, json={})
        assert response.status_code == 403, path
    bad = await api.client.get("/api/v1/space/all", headers={"authorization": "Bearer nonsense"})
    assert bad.status_code == 401


async def test_delete_space_rules(api: Api) -> None:
    _, owner = await api.user()
    _, other = await api.user()
    _, admin = await api.user(admin=True)
    space_id = (
        await api.client.post(
            "/api/v1/space", json={"name": "s", "dimensions": "10x10"}, headers=owner
        )
    ).json()["spaceId"]
    assert (await api.client.delete("/api/v1/space/unknown", headers=owner)).status_code == 400
    assert (await api.client.delete(f"/api/v1/space/{space_id}", headers=other)).status_code == 403
    # Platform admins may enter any space but do not own other people's spaces.
    assert (await api.client.delete(f"/api/v1/space/{space_id}", headers=admin)).status_code == 403
    assert (await api.client.delete(f"/api/v1/space/{space_id}", headers=owner)).status_code == 200


async def test_deleting_a_space_removes_everything_in_it(api: Api) -> None:
    _, admin = await api.user(admin=True)
    member_id, _member = await api.user()
    _, owner = await api.user()
    map_id, _ = await _map(api, admin)
    space_id = (
        await api.client.post("/api/v1/space", json={"name": "s", "mapId": map_id}, headers=owner)
    ).json()["spaceId"]
    await api.client.post(
        f"/api/v1/space/{space_id}/members", json={"userId": member_id}, headers=owner
    )
    await api.client.delete(f"/api/v1/space/{space_id}", headers=owner)
    async with api.context.sessions() as session:
        for model in (SpaceElement, SpaceArea, SpaceMember):
            count = await session.scalar(
                select(func.count()).select_from(model).where(model.space_id == space_id)
            )
            assert count == 0, model.__tablename__


@pytest.mark.parametrize(
    ("x", "y"),
    [(10000, 210000), (100, 5), (5, 200), (-1, 5), (5, -1), (99, 200)],
)
async def test_element_outside_the_space_is_400(api: Api, x: int, y: int) -> None:
    _, admin = await api.user(admin=True)
    _, user = await api.user()
    element = await api.element(admin)
    space_id = (
        await api.client.post(
            "/api/v1/space", json={"name": "s", "dimensions": "100x200"}, headers=user
        )
    ).json()["spaceId"]
    response = await api.client.post(
        "/api/v1/space/element",
        json={"elementId": element, "spaceId": space_id, "x": x, "y": y},
        headers=user,
    )
    assert response.status_code == 400
    edge = await api.client.post(
        "/api/v1/space/element",
        json={"elementId": element, "spaceId": space_id, "x": 99, "y": 199},
        headers=user,
    )
    assert edge.status_code == 200


async def test_element_routes_check_ids_and_roles(api: Api) -> None:
    _, admin = await api.user(admin=True)
    _, owner = await api.user()
    moderator_id, moderator = await api.user()
    _, stranger = await api.user()
    element = await api.element(admin)
    space_id = (
        await api.client.post(
            "/api/v1/space", json={"name": "s", "dimensions": "10x10"}, headers=owner
        )
    ).json()["spaceId"]
    await api.client.post(
        f"/api/v1/space/{space_id}/members",
        json={"userId": moderator_id, "role": "moderator"},
        headers=owner,
    )

    place = {"elementId": element, "spaceId": space_id, "x": 1, "y": 1}
    assert (
        await api.client.post("/api/v1/space/element", json=place, headers=stranger)
    ).status_code == 403
    assert (
        await api.client.post(
            "/api/v1/space/element", json={**place, "spaceId": "nope"}, headers=owner
        )
    ).status_code == 400
    assert (
        await api.client.post(
            "/api/v1/space/element", json={**place, "elementId": "nope"}, headers=owner
        )
    ).status_code == 400
    assert (
        await api.client.post("/api/v1/space/element", json={**place, "x": "1"}, headers=owner)
    ).status_code == 400
    placed = await api.client.post("/api/v1/space/element", json=place, headers=moderator)
    assert placed.status_code == 200
    placed_id = placed.json()["id"]

    assert (
        await api.client.request(
            "DELETE", "/api/v1/space/element", json={"id": placed_id}, headers=stranger
        )
    ).status_code == 403
    assert (
        await api.client.request(
            "DELETE", "/api/v1/space/element", json={"id": "nope"}, headers=owner
        )
    ).status_code == 400
    assert (
        await api.client.request("DELETE", "/api/v1/space/element", json={}, headers=owner)
    ).status_code == 400
    assert (
        await api.client.request(
            "DELETE", "/api/v1/space/element", json={"id": placed_id}, headers=moderator
        )
    ).status_code == 200


async def test_private_spaces_and_listings(api: Api) -> None:
    _, owner = await api.user()
    member_id, member = await api.user()
    _, stranger = await api.user()
    _, admin = await api.user(admin=True)
    private = (
        await api.client.post(
            "/api/v1/space",
            json={"name": "hq", "dimensions": "10x10", "visibility": "private"},
            headers=owner,
        )
    ).json()["spaceId"]
    public = (
        await api.client.post(
            "/api/v1/space", json={"name": "plaza", "dimensions": "10x10"}, headers=owner
        )
    ).json()["spaceId"]

    assert (await api.client.get(f"/api/v1/space/{private}", headers=stranger)).status_code == 403
    assert (await api.client.get(f"/api/v1/space/{private}", headers=admin)).status_code == 200
    assert (await api.client.get(f"/api/v1/space/{public}", headers=stranger)).status_code == 200
    await api.client.post(
        f"/api/v1/space/{private}/members", json={"userId": member_id}, headers=owner
    )
    assert (await api.client.get(f"/api/v1/space/{private}", headers=member)).status_code == 200

    listed_public = (await api.client.get("/api/v1/space/public", headers=stranger)).json()[
        "spaces"
    ]
    assert [s["id"] for s in listed_public] == [public]
    joined = (await api.client.get("/api/v1/space/joined", headers=member)).json()["spaces"]
    assert [(s["id"], s["role"]) for s in joined] == [(private, "member")]
    owned_joined = (await api.client.get("/api/v1/space/joined", headers=owner)).json()["spaces"]
    assert {(s["id"], s["role"]) for s in owned_joined} == {(private, "owner"), (public, "owner")}


async def test_patch_space(api: Api) -> None:
    _, owner = await api.user()
    _, other = await api.user()
    space_id = (
        await api.client.post(
            "/api/v1/space", json={"name": "s", "dimensions": "10x10"}, headers=owner
        )
    ).json()["spaceId"]
    forbidden = await api.client.patch(
        f"/api/v1/space/{space_id}", json={"name": "mine"}, headers=other
    )
    assert forbidden.status_code == 403
    invalid = await api.client.patch(
        f"/api/v1/space/{space_id}", json={"visibility": "hidden"}, headers=owner
    )
    assert invalid.status_code == 400
    changed = await api.client.patch(
        f"/api/v1/space/{space_id}",
        json={"name": "Renamed", "visibility": "private"},
        headers=owner,
    )
    assert changed.status_code == 200
    assert changed.json()["name"] == "Renamed" and changed.json()["visibility"] == "private"
    assert (await api.client.get(f"/api/v1/space/{space_id}", headers=other)).status_code == 403
