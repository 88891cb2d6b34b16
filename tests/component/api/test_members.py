"""Membership of spaces: who may add, promote and remove whom."""

from __future__ import annotations

from tests.component.conftest import Api


async def _space(api: Api, owner: dict[str, str], visibility: str = "public") -> str:
    response = await api.client.post(
        "/api/v1/space",
        json={"name": "s", "dimensions": "10x10", "visibility": visibility},
        headers=owner,
    )
    space_id: str = response.json()["spaceId"]
    return space_id


async def _roles(api: Api, space_id: str, headers: dict[str, str]) -> dict[str, str]:
    response = await api.client.get(f"/api/v1/space/{space_id}/members", headers=headers)
    assert response.status_code == 200
    return {m["userId"]: m["role"] for m in response.json()["members"]}


async def test_owner_manages_members(api: Api) -> None:
    owner_id, owner = await api.user()
    user_id, user = await api.user()
    space_id = await _space(api, owner)
    assert await _roles(api, space_id, owner) == {owner_id: "owner"}
    added = await api.client.post(
        f"/api/v1/space/{space_id}/members",
        json={"userId": user_id, "role": "moderator"},
        headers=owner,
    )
    assert added.status_code == 200 and added.json() == {"userId": user_id, "role": "moderator"}
    assert await _roles(api, space_id, user) == {owner_id: "owner", user_id: "moderator"}
    demoted = await api.client.post(
        f"/api/v1/space/{space_id}/members",
        json={"userId": user_id, "role": "member"},
        headers=owner,
    )
    assert demoted.status_code == 200
    removed = await api.client.request(
        "DELETE", f"/api/v1/space/{space_id}/members", json={"userId": user_id}, headers=owner
    )
    assert removed.status_code == 200
    assert await _roles(api, space_id, owner) == {owner_id: "owner"}


async def test_moderators_add_and_remove_plain_members_only(api: Api) -> None:
    _, owner = await api.user()
    mod_id, mod = await api.user()
    other_mod_id, _ = await api.user()
    user_id, _ = await api.user()
    space_id = await _space(api, owner, "private")
    for uid in (mod_id, other_mod_id):
        await api.client.post(
            f"/api/v1/space/{space_id}/members",
            json={"userId": uid, "role": "moderator"},
            headers=owner,
        )
    members = f"/api/v1/space/{space_id}/members"
    assert (
        await api.client.post(members, json={"userId": user_id}, headers=mod)
    ).status_code == 200
    assert (
        await api.client.post(members, json={"userId": user_id, "role": "moderator"}, headers=mod)
    ).status_code == 403
    assert (
        await api.client.request("DELETE", members, json={"userId": other_mod_id}, headers=mod)
    ).status_code == 403
    assert (
        await api.client.request("DELETE", members, json={"userId": user_id}, headers=mod)
    ).status_code == 200


async def test_self_join_public_and_leave(api: Api) -> None:
    _, owner = await api.user()
    user_id, user = await api.user()
    public = await _space(api, owner)
    private = await _space(api, owner, "private")
    assert (
        await api.client.post(
            f"/api/v1/space/{public}/members", json={"userId": user_id}, headers=user
        )
    ).status_code == 200
    assert (
        await api.client.post(
            f"/api/v1/space/{private}/members", json={"userId": user_id}, headers=user
        )
    ).status_code == 403
    assert (
        await api.client.get(f"/api/v1/space/{private}/members", headers=user)
    ).status_code == 403
    assert (
        await api.client.request(
            "DELETE", f"/api/v1/space/{public}/members", json={"userId": user_id}, headers=user
        )
    ).status_code == 200


async def test_member_errors(api: Api) -> None:
    owner_id, owner = await api.user()
    user_id, user = await api.user()
    space_id = await _space(api, owner)
    members = f"/api/v1/space/{space_id}/members"
    assert (
        await api.client.post(members, json={"userId": "nobody"}, headers=owner)
    ).status_code == 400
    assert (
        await api.client.post(members, json={"userId": user_id, "role": "owner"}, headers=owner)
    ).status_code == 400
    assert (
        await api.client.post(members, json={"userId": user_id, "role": "king"}, headers=owner)
    ).status_code == 400
    assert (await api.client.post(members, json={}, headers=owner)).status_code == 400
    assert (
        await api.client.post("/api/v1/space/nope/members", json={"userId": user_id}, headers=owner)
    ).status_code == 400
    assert (
        await api.client.request("DELETE", members, json={"userId": owner_id}, headers=owner)
    ).status_code == 403
    assert (
        await api.client.request("DELETE", members, json={"userId": user_id}, headers=owner)
    ).status_code == 400
    assert (
        await api.client.post(members, json={"userId": owner_id, "role": "member"}, headers=owner)
    ).status_code == 403
    assert (
        await api.client.post(members, json={"userId": owner_id, "role": "member"}, headers=user)
    ).status_code == 403
