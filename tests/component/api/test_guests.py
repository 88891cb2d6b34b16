"""Guests: entering a space with a display name, and what their token may do."""

from __future__ import annotations

import re
from typing import Any

from metaverse.db.models import User
from tests.component.conftest import Api, ApiFactory

# What a guest's token may call: what the space page needs.
GUEST_ROUTES = {
    ("GET", "/api/v1/user/me"),
    ("PATCH", "/api/v1/user/me"),
    ("GET", "/api/v1/space/{space_id}"),
    ("GET", "/api/v1/space/{space_id}/messages"),
    ("GET", "/api/v1/dm/{user_id}/messages"),
    ("GET", "/api/v1/rtc/ice-servers"),
    ("PUT", "/api/v1/chat/read"),
    ("GET", "/api/v1/chat/read"),
}


async def _space(api: Api, owner: dict[str, str], *, guests: bool = True) -> str:
    response = await api.client.post(
        "/api/v1/space",
        json={"name": "Open office", "dimensions": "10x10", "visibility": "private"},
        headers=owner,
    )
    space_id: str = response.json()["spaceId"]
    if guests:
        patched = await api.client.patch(
            f"/api/v1/space/{space_id}", json={"guests": True}, headers=owner
        )
        assert patched.status_code == 200 and patched.json()["guests"] is True
    return space_id


async def _guest(api: Api, space_id: str, name: str = "Visitor") -> Any:
    return await api.client.post(f"/api/v1/space/{space_id}/guests", json={"displayName": name})


async def _guest_headers(api: Api, space_id: str) -> tuple[str, dict[str, str]]:
    response = await _guest(api, space_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["spaceId"] == space_id and body["expiresIn"] == 2 * 60 * 60
    assert "refreshToken" not in body
    return body["userId"], {"authorization": f"Bearer {body['token']}"}


async def test_guests_are_off_by_default_and_the_owner_turns_them_on(api: Api) -> None:
    _, owner = await api.user()
    mod_id, mod = await api.user()
    space_id = await _space(api, owner, guests=False)
    summary = (await api.client.get(f"/api/v1/space/{space_id}", headers=owner)).json()
    assert summary["guests"] is False
    assert (await api.client.get(f"/api/v1/space/{space_id}/guests")).json() == {"guests": False}
    refused = await _guest(api, space_id)
    assert refused.status_code == 403 and refused.json()["code"] == "guests_not_allowed"
    await api.client.post(
        f"/api/v1/space/{space_id}/members",
        json={"userId": mod_id, "role": "moderator"},
        headers=owner,
    )
    by_mod = await api.client.patch(f"/api/v1/space/{space_id}", json={"guests": True}, headers=mod)
    assert by_mod.status_code == 403
    await api.client.patch(f"/api/v1/space/{space_id}", json={"guests": True}, headers=owner)
    assert (await api.client.get(f"/api/v1/space/{space_id}/guests")).json() == {
        "guests": True,
        "spaceId": space_id,
        "spaceName": "Open office",
    }
    assert (await _guest(api, space_id)).status_code == 200
    unknown = await _guest(api, "no-such-space")
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_id"


async def test_a_guest_reads_their_space_and_profile_and_nothing_else(api: Api) -> None:
    _, owner = await api.user()
    space_id = await _space(api, owner)
    other_id = await _space(api, owner)
    guest_id, guest = await _guest_headers(api, space_id)
    me = (await api.client.get("/api/v1/user/me", headers=guest)).json()
    assert me["id"] == guest_id and me["displayName"] == "Visitor"
    assert me["role"] == "guest" and me["guest"] is True and me["guestSpaceId"] == space_id
    assert me["username"].startswith("guest-")
    space = await api.client.get(f"/api/v1/space/{space_id}", headers=guest)
    assert space.status_code == 200
    other = await api.client.get(f"/api/v1/space/{other_id}", headers=guest)
    assert other.status_code == 403
    history = await api.client.get(f"/api/v1/space/{space_id}/messages", headers=guest)
    assert history.status_code == 200
    assert (await api.client.get("/api/v1/rtc/ice-servers", headers=guest)).status_code == 200
    renamed = await api.client.patch("/api/v1/user/me", json={"displayName": "Vera"}, headers=guest)
    assert renamed.status_code == 200 and renamed.json()["displayName"] == "Vera"
    for body in ({"statusText": "hi"}, {"status": "dnd"}, {"displayName": "V", "avatarId": "a"}):
        refused = await api.client.patch("/api/v1/user/me", json=body, headers=guest)
        assert refused.status_code == 403 and refused.json()["code"] == "guest_forbidden"
    for method, path, request_body in (
        ("POST", "/api/v1/space", {"name": "x", "dimensions": "5x5"}),
        ("POST", "/api/v1/chatroom", {"spaceId": space_id, "name": "x"}),
        ("GET", f"/api/v1/space/{space_id}/analytics", None),
        ("GET", f"/api/v1/space/{space_id}/members", None),
        ("POST", f"/api/v1/space/{space_id}/invites", {}),
        ("POST", "/api/v1/invites/x/accept", None),
    ):
        response = await api.client.request(method, path, json=request_body, headers=guest)
        assert response.status_code == 403, (method, path)
        assert response.json()["code"] == "guest_forbidden"


async def test_every_route_but_the_space_pages_refuses_a_guest(api: Api) -> None:
    """Every operation of the published API that needs a token, called with a guest's."""
    _, owner = await api.user()
    _, guest = await _guest_headers(api, await _space(api, owner))
    paths = (await api.client.get("/openapi.json")).json()["paths"]
    allowed = set()
    for template, operations in paths.items():
        path = re.sub(r"\{[^}]+\}", "x", template)
        for method in operations:
            anonymous = await api.client.request(method.upper(), path)
            if anonymous.status_code != 403 or anonymous.json()["code"] != "not_authenticated":
                continue  # needs no token
            response = await api.client.request(method.upper(), path, headers=guest)
            if response.status_code != 403 or response.json()["code"] != "guest_forbidden":
                allowed.add((method.upper(), template))
    assert allowed == GUEST_ROUTES


async def test_guests_are_rate_limited_like_sign_up(api_factory: ApiFactory) -> None:
    api = await api_factory(auth_rate_per_minute=1, auth_rate_burst=2)
    _, owner = await api.user()  # sign-up and sign-in use the address's two attempts
    space_id = await _space(api, owner)
    response = await _guest(api, space_id)
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"
    api.clock.advance(60)
    assert (await _guest(api, space_id)).status_code == 200


async def test_a_guest_cannot_sign_in_and_goes_with_the_space(api: Api) -> None:
    _, owner = await api.user()
    space_id = await _space(api, owner)
    guest_id, _ = await _guest_headers(api, space_id)
    async with api.context.sessions() as session:
        user = await session.get(User, guest_id)
        assert user is not None and user.guest_space_id == space_id
        username = user.username
    for password in ("", "!guest", "password1"):
        signin = await api.client.post(
            "/api/v1/signin", json={"username": username, "password": password or "x"}
        )
        assert signin.status_code == 403
    await api.client.delete(f"/api/v1/space/{space_id}", headers=owner)
    async with api.context.sessions() as session:
        assert await session.get(User, guest_id) is None


async def test_an_expired_guest_token_stops_working(api: Api) -> None:
    _, owner = await api.user()
    _, guest = await _guest_headers(api, await _space(api, owner))
    api.clock.advance(2 * 60 * 60 + 1)
    response = await api.client.get("/api/v1/user/me", headers=guest)
    assert response.status_code == 401
