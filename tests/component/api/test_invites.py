"""Invite links: who may create, list and revoke them, and accepting them (on SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from sqlalchemy import select

from metaverse.db.models import SpaceInvite, SpaceMember
from tests.component.conftest import Api


async def _space(api: Api, owner: dict[str, str], visibility: str = "private") -> str:
    response = await api.client.post(
        "/api/v1/space",
        json={"name": "Office", "dimensions": "10x10", "visibility": visibility},
        headers=owner,
    )
    space_id: str = response.json()["spaceId"]
    return space_id


async def _invite(api: Api, space_id: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await api.client.post(
        f"/api/v1/space/{space_id}/invites", json=body, headers=headers
    )
    assert response.status_code == 200, response.text
    invite: dict[str, Any] = response.json()
    return invite


async def _accept(api: Api, token: str, headers: dict[str, str]) -> Any:
    return await api.client.post(f"/api/v1/invites/{token}/accept", headers=headers)


async def _role(api: Api, space_id: str, user_id: str) -> str | None:
    async with api.context.sessions() as session:
        role: str | None = await session.scalar(
            select(SpaceMember.role).where(
                SpaceMember.space_id == space_id, SpaceMember.user_id == user_id
            )
        )
        return role


async def test_an_invite_makes_its_acceptor_a_member_of_a_private_space(api: Api) -> None:
    _, owner = await api.user()
    user_id, user = await api.user()
    space_id = await _space(api, owner)
    assert (await api.client.get(f"/api/v1/space/{space_id}", headers=user)).status_code == 403
    invite = await _invite(api, space_id, owner, role="member", expiresInS=3600, maxUses=5)
    token = invite["token"]
    assert len(token) >= 22  # at least 128 bits, URL-safe
    assert invite["url"] == f"http://testserver/invite/{token}"
    assert invite["expiresAt"] is not None and invite["maxUses"] == 5 and invite["uses"] == 0
    described = await api.client.get(f"/api/v1/invites/{token}")  # no token needed
    assert described.status_code == 200
    assert described.json() == {
        "spaceId": space_id,
        "spaceName": "Office",
        "role": "member",
        "expiresAt": invite["expiresAt"],
        "usable": True,
        "reason": None,
    }
    accepted = await _accept(api, token, user)
    assert accepted.status_code == 200
    assert accepted.json() == {"spaceId": space_id, "role": "member"}
    assert await _role(api, space_id, user_id) == "member"
    assert (await api.client.get(f"/api/v1/space/{space_id}", headers=user)).status_code == 200
    listed = await api.client.get(f"/api/v1/space/{space_id}/invites", headers=owner)
    assert [(i["token"], i["uses"], i["revoked"]) for i in listed.json()["invites"]] == [
        (token, 1, False)
    ]


async def test_the_public_url_names_the_invite_page(api_factory: Any) -> None:
    api = await api_factory(public_url="https://meet.example.org/")
    _, owner = await api.user()
    invite = await _invite(api, await _space(api, owner), owner)
    assert invite["url"] == f"https://meet.example.org/invite/{invite['token']}"


async def test_owners_and_moderators_invite_and_moderators_only_members(api: Api) -> None:
    _, owner = await api.user()
    mod_id, mod = await api.user()
    member_id, member = await api.user()
    space_id = await _space(api, owner)
    for uid, role in ((mod_id, "moderator"), (member_id, "member")):
        await api.client.post(
            f"/api/v1/space/{space_id}/members", json={"userId": uid, "role": role}, headers=owner
        )
    await _invite(api, space_id, owner, role="moderator")
    await _invite(api, space_id, mod, role="member")
    refused = await api.client.post(
        f"/api/v1/space/{space_id}/invites", json={"role": "moderator"}, headers=mod
    )
    assert refused.status_code == 403
    for headers in (member, (await api.user())[1]):
        for call in (
            api.client.post(f"/api/v1/space/{space_id}/invites", json={}, headers=headers),
            api.client.get(f"/api/v1/space/{space_id}/invites", headers=headers),
        ):
            assert (await call).status_code == 403
    bad = await api.client.post(
        f"/api/v1/space/{space_id}/invites", json={"role": "owner"}, headers=owner
    )
    assert bad.status_code == 400
    unknown = await api.client.post("/api/v1/space/nope/invites", json={}, headers=owner)
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_id"


async def test_expired_used_up_revoked_and_unknown_links_say_why(api: Api) -> None:
    _, owner = await api.user()
    _, user = await api.user()
    space_id = await _space(api, owner)
    expiring = (await _invite(api, space_id, owner, expiresInS=60))["token"]
    once = (await _invite(api, space_id, owner, maxUses=1))["token"]
    revoked = (await _invite(api, space_id, owner))["token"]
    assert (await _accept(api, once, owner)).status_code == 200  # the owner stays owner
    gone = await api.client.delete(f"/api/v1/space/{space_id}/invites/{revoked}", headers=owner)
    assert gone.status_code == 200
    api.clock.advance(61)
    for token, code in (
        (expiring, "invite_expired"),
        (once, "invite_used_up"),
        (revoked, "invite_revoked"),
    ):
        accepted = await _accept(api, token, user)
        assert accepted.status_code == 410 and accepted.json()["code"] == code
        described = (await api.client.get(f"/api/v1/invites/{token}")).json()
        assert described["usable"] is False and described["reason"] == code
    for response in (
        await _accept(api, "no-such-token", user),
        await api.client.get("/api/v1/invites/no-such-token"),
        await api.client.delete(f"/api/v1/space/{space_id}/invites/no-such-token", headers=owner),
    ):
        assert response.status_code == 404 and response.json()["code"] == "unknown_invite"
    listed = (await api.client.get(f"/api/v1/space/{space_id}/invites", headers=owner)).json()
    assert {i["token"]: i["revoked"] for i in listed["invites"]}[revoked] is True


async def test_accepting_never_lowers_a_role_and_raises_a_member(api: Api) -> None:
    owner_id, owner = await api.user()
    user_id, user = await api.user()
    space_id = await _space(api, owner)
    member_link = (await _invite(api, space_id, owner, role="member"))["token"]
    mod_link = (await _invite(api, space_id, owner, role="moderator"))["token"]
    assert (await _accept(api, member_link, user)).json()["role"] == "member"
    assert (await _accept(api, mod_link, user)).json()["role"] == "moderator"
    assert (await _accept(api, member_link, user)).json()["role"] == "moderator"
    assert (await _accept(api, member_link, owner)).json()["role"] == "owner"
    assert await _role(api, space_id, user_id) == "moderator"
    assert await _role(api, space_id, owner_id) == "owner"


async def test_moderators_revoke_member_links_only(api: Api) -> None:
    _, owner = await api.user()
    mod_id, mod = await api.user()
    space_id = await _space(api, owner)
    await api.client.post(
        f"/api/v1/space/{space_id}/members",
        json={"userId": mod_id, "role": "moderator"},
        headers=owner,
    )
    member_link = (await _invite(api, space_id, owner, role="member"))["token"]
    mod_link = (await _invite(api, space_id, owner, role="moderator"))["token"]
    path = f"/api/v1/space/{space_id}/invites/"
    assert (await api.client.delete(path + mod_link, headers=mod)).status_code == 403
    assert (await api.client.delete(path + member_link, headers=mod)).status_code == 200


async def test_of_ten_concurrent_accepts_of_a_three_use_link_three_succeed(api: Api) -> None:
    _, owner = await api.user()
    space_id = await _space(api, owner)
    token = (await _invite(api, space_id, owner, maxUses=3))["token"]
    people = [await api.user() for _ in range(10)]
    responses = await asyncio.gather(*(_accept(api, token, headers) for _, headers in people))
    assert Counter(r.status_code for r in responses) == {200: 3, 410: 7}
    assert {r.json()["code"] for r in responses if r.status_code == 410} == {"invite_used_up"}
    async with api.context.sessions() as session:
        invite = await session.get(SpaceInvite, token)
        assert invite is not None and invite.uses == 3
        members = await session.scalars(
            select(SpaceMember.user_id).where(SpaceMember.space_id == space_id)
        )
        joined = set(members)
    accepted = {uid for (uid, _), r in zip(people, responses, strict=True) if r.status_code == 200}
    assert accepted <= joined and len(joined) == 4  # the owner and three


async def test_invites_go_with_their_space(api: Api) -> None:
    _, owner = await api.user()
    _, user = await api.user()
    space_id = await _space(api, owner)
    token = (await _invite(api, space_id, owner))["token"]
    await api.client.delete(f"/api/v1/space/{space_id}", headers=owner)
    assert (await _accept(api, token, user)).status_code == 404
