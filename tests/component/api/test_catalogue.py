"""Avatars, elements and maps: the public catalogue and its admin routes."""

from __future__ import annotations

import pytest

from tests.component.conftest import Api

ADMIN_CALLS = [
    (
        "POST",
        "/api/v1/admin/element",
        {"imageUrl": "https://x/e.png", "width": 1, "height": 1, "static": True},
    ),
    ("PUT", "/api/v1/admin/element/some-id", {"imageUrl": "https://x/e.png"}),
    ("POST", "/api/v1/admin/avatar", {"imageUrl": "https://x/a.png", "name": "Timmy"}),
    (
        "POST",
        "/api/v1/admin/map",
        {
            "thumbnail": "https://x/t.png",
            "dimensions": "100x200",
            "name": "m",
            "defaultElements": [],
        },
    ),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
async def test_admin_routes_refuse_users_before_looking_at_input(
    api: Api, method: str, path: str, body: dict[str, object]
) -> None:
    _, user = await api.user()
    for payload in (body, {"garbage": True}):
        response = await api.client.request(method, path, json=payload, headers=user)
        assert response.status_code == 403, (path, payload)
    malformed = await api.client.request(
        method, path, content=b"{not json", headers={**user, "content-type": "application/json"}
    )
    assert malformed.status_code == 403
    anonymous = await api.client.request(method, path, content=b"{not json")
    assert anonymous.status_code == 403


async def test_create_and_list_elements(api: Api) -> None:
    _, admin = await api.user(admin=True)
    created = await api.client.post(
        "/api/v1/admin/element",
        json={"imageUrl": "https://x/desk.png", "width": 2, "height": 1, "static": True},
        headers=admin,
    )
    assert created.status_code == 200
    element_id = created.json()["id"]
    listed = await api.client.get("/api/v1/elements")
    assert listed.status_code == 200
    assert listed.json() == {
        "elements": [
            {
                "id": element_id,
                "imageUrl": "https://x/desk.png",
                "width": 2,
                "height": 1,
                "static": True,
            }
        ]
    }


async def test_named_element_lists_its_name(api: Api) -> None:
    _, admin = await api.user(admin=True)
    created = await api.client.post(
        "/api/v1/admin/element",
        json={
            "imageUrl": "/media/ab.png",
            "width": 1,
            "height": 2,
            "static": False,
            "name": "Plant",
        },
        headers=admin,
    )
    assert created.status_code == 200, created.text
    elements = (await api.client.get("/api/v1/elements")).json()["elements"]
    assert elements == [
        {
            "id": created.json()["id"],
            "imageUrl": "/media/ab.png",
            "width": 1,
            "height": 2,
            "static": False,
            "name": "Plant",
        }
    ]


async def test_update_element_image(api: Api) -> None:
    _, admin = await api.user(admin=True)
    element_id = await api.element(admin)
    response = await api.client.put(
        f"/api/v1/admin/element/{element_id}", json={"imageUrl": "https://x/new.png"}, headers=admin
    )
    assert response.status_code == 200
    elements = (await api.client.get("/api/v1/elements")).json()["elements"]
    assert elements[0]["imageUrl"] == "https://x/new.png"
    unknown = await api.client.put(
        "/api/v1/admin/element/nope", json={"imageUrl": "https://x/new.png"}, headers=admin
    )
    assert unknown.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"imageUrl": "https://x/e.png", "width": "1", "height": 1, "static": True},
        {"imageUrl": "https://x/e.png", "width": 1, "height": 1, "static": "true"},
        {"imageUrl": "https://x/e.png", "width": 0, "height": 1, "static": True},
        {"imageUrl": "https://x/e.png", "width": -3, "height": 1, "static": True},
        {"imageUrl": "https://x/e.png", "width": 10**12, "height": 1, "static": True},
        {"imageUrl": "https://x/e.png", "width": 1.5, "height": 1, "static": True},
        {"imageUrl": "javascript:alert(1)", "width": 1, "height": 1, "static": True},
        {"imageUrl": "https://x/" + "e" * 5000, "width": 1, "height": 1, "static": True},
        {"width": 1, "height": 1, "static": True},
    ],
)
async def test_element_validation(api: Api, body: dict[str, object]) -> None:
    _, admin = await api.user(admin=True)
    response = await api.client.post("/api/v1/admin/element", json=body, headers=admin)
    assert response.status_code == 400
    assert (await api.client.get("/api/v1/elements")).json() == {"elements": []}


async def test_create_and_list_avatars(api: Api) -> None:
    _, admin = await api.user(admin=True)
    created = await api.client.post(
        "/api/v1/admin/avatar", json={"imageUrl": "/assets/a.svg", "name": "Timmy"}, headers=admin
    )
    assert created.status_code == 200
    avatar_id = created.json()["avatarId"]
    listed = (await api.client.get("/api/v1/avatars")).json()
    assert listed == {"avatars": [{"id": avatar_id, "imageUrl": "/assets/a.svg", "name": "Timmy"}]}


async def test_create_map_and_read_it(api: Api) -> None:
    _, admin = await api.user(admin=True)
    desk = await api.element(admin, width=2)
    body = {
        "thumbnail": "https://x/thumb.png",
        "dimensions": "100x200",
        "name": "Office",
        "defaultElements": [
            {"elementId": desk, "x": 20, "y": 20},
            {"elementId": desk, "x": 18, "y": 20},
        ],
        "areas": [{"name": "Meeting", "x": 0, "y": 0, "width": 10, "height": 5, "kind": "private"}],
    }
    created = await api.client.post("/api/v1/admin/map", json=body, headers=admin)
    assert created.status_code == 200
    map_id = created.json()["id"]
    maps = (await api.client.get("/api/v1/maps")).json()["maps"]
    assert maps == [
        {
            "id": map_id,
            "name": "Office",
            "thumbnail": "https://x/thumb.png",
            "dimensions": "100x200",
        }
    ]
    detail = (await api.client.get(f"/api/v1/maps/{map_id}")).json()
    assert detail["dimensions"] == "100x200"
    assert sorted((e["x"], e["y"]) for e in detail["elements"]) == [(18, 20), (20, 20)]
    assert detail["elements"][0]["element"]["width"] == 2
    assert detail["areas"] == [
        {"name": "Meeting", "x": 0, "y": 0, "width": 10, "height": 5, "kind": "private"}
    ]
    assert (await api.client.get("/api/v1/maps/unknown")).status_code == 404


@pytest.mark.parametrize(
    "change",
    [
        {"dimensions": "100"},
        {"dimensions": "0x10"},
        {"dimensions": "10000x10"},
        {"dimensions": "10x10x10"},
        {"dimensions": 100},
        {"defaultElements": [{"elementId": "unknown", "x": 1, "y": 1}]},
        {"defaultElements": [{"elementId": "DESK", "x": 100, "y": 1}]},
        {"defaultElements": [{"elementId": "DESK", "x": -1, "y": 1}]},
        {"areas": [{"name": "a", "x": 95, "y": 0, "width": 10, "height": 5, "kind": "room"}]},
        {"areas": [{"name": "a", "x": 0, "y": 0, "width": 10, "height": 5, "kind": "party"}]},
        {"areas": [{"name": "a", "x": 0, "y": 0, "width": 0, "height": 5, "kind": "room"}]},
        {"name": ""},
    ],
)
async def test_map_validation(api: Api, change: dict[str, object]) -> None:
    _, admin = await api.user(admin=True)
    desk = await api.element(admin)
    body: dict[str, object] = {
        "thumbnail": "https://x/t.png",
        "dimensions": "100x200",
        "name": "m",
        "defaultElements": [],
    }
    body.update(change)
    if "defaultElements" in change:
        body["defaultElements"] = [
            {**e, "elementId": desk if e["elementId"] == "DESK" else e["elementId"]}
            for e in change["defaultElements"]  # type: ignore[attr-defined]
        ]
    response = await api.client.post("/api/v1/admin/map", json=body, headers=admin)
    assert response.status_code == 400, response.text
    assert (await api.client.get("/api/v1/maps")).json() == {"maps": []}
