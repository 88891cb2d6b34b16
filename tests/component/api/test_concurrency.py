"""Concurrent requests that check and then change the same row: each change applies once.

These tests exist because a check made in one statement and a change made in a later one
let every concurrent request pass the check: N refreshes of one token all won (defeating
stolen-token detection), N deletes of one row all answered 200, and N inserts of one row
collided into 500s. Each fires `N` requests at once (`asyncio.gather` over the ASGI app,
each request on its own database connection) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from typing import Any

import httpx
from sqlalchemy import func, select

from metaverse.db.models import ChatRoomMember, RefreshToken, SpaceMember, User
from tests.component.conftest import Api, ApiFactory

N = 12


async def _at_once(*calls: Awaitable[httpx.Response]) -> list[httpx.Response]:
    return list(await asyncio.gather(*calls))


async def _warm(api: Api) -> None:
    """Open the pool's connections first, so that the requests of a race start together
    instead of one by one as each new connection comes up."""
    await _at_once(*(api.client.get("/api/v1/user/metadata/bulk?ids=[x]") for _ in range(N)))


def _statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


async def _signin(api: Api, username: str) -> dict[str, Any]:
    response = await api.client.post(
        "/api/v1/signin", json={"username": username, "password": "password1"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _refresh(api: Api, refresh_token: str) -> Awaitable[httpx.Response]:
    return api.client.post("/api/v1/token/refresh", json={"refreshToken": refresh_token})


async def _space(api: Api, headers: dict[str, str], visibility: str = "public") -> str:
    response = await api.client.post(
        "/api/v1/space",
        json={"name": "s", "dimensions": "10x10", "visibility": visibility},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    space_id: str = response.json()["spaceId"]
    return space_id


async def test_one_of_many_concurrent_refreshes_wins(api: Api) -> None:
    await api.signup("ada")
    tokens = await _signin(api, "ada")
    await _warm(api)
    responses = await _at_once(*(_refresh(api, tokens["refreshToken"]) for _ in range(N)))
    assert _statuses(responses) == {200: 1, 401: N - 1}
    losers = [r.json()["code"] for r in responses if r.status_code == 401]
    assert losers == ["refresh_conflict"] * (N - 1)

    # The losers revoked nothing: the winner's token rotates on.
    winner = next(r.json() for r in responses if r.status_code == 200)
    onward = await _refresh(api, winner["refreshToken"])
    assert onward.status_code == 200, onward.text
    async with api.context.sessions() as session:
        revoked = await session.scalar(
            select(func.count())
            .select_from(RefreshToken)
            .where(RefreshToken.revoked_at.is_not(None))
        )
    assert revoked == 0


async def test_retired_token_within_the_grace_window_is_a_conflict(api: Api) -> None:
    await api.signup("ada")
    first = await _signin(api, "ada")
    second = (await _refresh(api, first["refreshToken"])).json()
    api.clock.advance(api.context.settings.refresh_reuse_grace_s - 1)
    late = await _refresh(api, first["refreshToken"])
    assert late.status_code == 401
    assert late.json()["code"] == "refresh_conflict"
    assert (await _refresh(api, second["refreshToken"])).status_code == 200


async def test_retired_token_after_the_grace_window_revokes_the_family(api: Api) -> None:
    await api.signup("ada")
    first = await _signin(api, "ada")
    await _warm(api)
    responses = await _at_once(*(_refresh(api, first["refreshToken"]) for _ in range(N)))
    winner = next(r.json() for r in responses if r.status_code == 200)
    api.clock.advance(api.context.settings.refresh_reuse_grace_s)

    stolen = await _refresh(api, first["refreshToken"])
    assert stolen.status_code == 401
    assert stolen.json()["code"] == "invalid_token"
    assert (await _refresh(api, winner["refreshToken"])).status_code == 401


async def test_no_grace_window_makes_every_reuse_a_theft(api_factory: ApiFactory) -> None:
    api = await api_factory(refresh_reuse_grace_s=0)
    await api.signup("ada")
    first = await _signin(api, "ada")
    second = (await _refresh(api, first["refreshToken"])).json()
    assert (await _refresh(api, first["refreshToken"])).json()["code"] == "invalid_token"
    assert (await _refresh(api, second["refreshToken"])).status_code == 401


async def test_sign_out_racing_refreshes_leaves_no_live_token(api: Api) -> None:
    await api.signup("ada")
    tokens = await _signin(api, "ada")
    await _warm(api)
    responses = await _at_once(
        api.client.post("/api/v1/signout", json={"refreshToken": tokens["refreshToken"]}),
        *(_refresh(api, tokens["refreshToken"]) for _ in range(N - 1)),
    )
    assert 500 not in _statuses(responses)
    async with api.context.sessions() as session:
        live = await session.scalar(
            select(func.count()).select_from(RefreshToken).where(RefreshToken.revoked_at.is_(None))
        )
    assert live == 0


async def test_first_admin_sign_up_is_granted_once(api_factory: ApiFactory) -> None:
    api = await api_factory(admin_signup="first-user")
    await _warm(api)
    responses = await _at_once(
        *(
            api.client.post(
                "/api/v1/signup",
                json={"username": f"admin{i}", "password": "password1", "type": "admin"},
            )
            for i in range(N)
        )
    )
    assert _statuses(responses) == {200: 1, 403: N - 1}
    async with api.context.sessions() as session:
        admins = await session.scalar(
            select(func.count()).select_from(User).where(User.role == "admin")
        )
    assert admins == 1


async def test_one_of_many_concurrent_element_deletions_wins(api: Api) -> None:
    _, admin = await api.user(admin=True)
    _, owner = await api.user()
    element = await api.element(admin)
    space_id = await _space(api, owner)
    placed = await api.client.post(
        "/api/v1/space/element",
        json={"elementId": element, "spaceId": space_id, "x": 1, "y": 1},
        headers=owner,
    )
    body = {"id": placed.json()["id"]}
    await _warm(api)
    responses = await _at_once(
        *(
            api.client.request("DELETE", "/api/v1/space/element", json=body, headers=owner)
            for _ in range(N)
        )
    )
    assert _statuses(responses) == {200: 1, 400: N - 1}
    assert {r.json()["code"] for r in responses if r.status_code == 400} == {"unknown_id"}


async def test_one_of_many_concurrent_space_deletions_wins(api: Api) -> None:
    _, owner = await api.user()
    space_id = await _space(api, owner)
    await _warm(api)
    responses = await _at_once(
        *(api.client.delete(f"/api/v1/space/{space_id}", headers=owner) for _ in range(N))
    )
    assert _statuses(responses) == {200: 1, 400: N - 1}
    assert {r.json()["code"] for r in responses if r.status_code == 400} == {"unknown_id"}


async def test_writes_into_a_space_being_deleted_never_fail_with_500(api: Api) -> None:
    _, admin = await api.user(admin=True)
    _, owner = await api.user()
    user_id, _ = await api.user()
    element = await api.element(admin)
    space_id = await _space(api, owner)
    place = {"elementId": element, "spaceId": space_id, "x": 1, "y": 1}
    per_kind = N // 4
    await _warm(api)
    responses = await _at_once(
        api.client.delete(f"/api/v1/space/{space_id}", headers=owner),
        *(
            api.client.post("/api/v1/space/element", json=place, headers=owner)
            for _ in range(per_kind)
        ),
        *(
            api.client.post(
                f"/api/v1/space/{space_id}/members", json={"userId": user_id}, headers=owner
            )
            for _ in range(per_kind)
        ),
        *(
            api.client.post(
                "/api/v1/chatroom", json={"spaceId": space_id, "name": "r"}, headers=owner
            )
            for _ in range(per_kind)
        ),
        *(
            api.client.patch(f"/api/v1/space/{space_id}", json={"name": "n"}, headers=owner)
            for _ in range(per_kind)
        ),
    )
    assert set(_statuses(responses)) <= {200, 400}, [r.text for r in responses]
    assert responses[0].status_code == 200


async def test_one_of_many_concurrent_member_removals_wins(api: Api) -> None:
    _, owner = await api.user()
    user_id, _ = await api.user()
    space_id = await _space(api, owner)
    members = f"/api/v1/space/{space_id}/members"
    await api.client.post(members, json={"userId": user_id}, headers=owner)
    await _warm(api)
    responses = await _at_once(
        *(
            api.client.request("DELETE", members, json={"userId": user_id}, headers=owner)
            for _ in range(N)
        )
    )
    assert _statuses(responses) == {200: 1, 400: N - 1}
    assert {r.json()["code"] for r in responses if r.status_code == 400} == {"unknown_id"}


async def test_concurrent_additions_of_one_member_add_one_row(api: Api) -> None:
    _, owner = await api.user()
    user_id, user = await api.user()
    space_id = await _space(api, owner)
    members = f"/api/v1/space/{space_id}/members"
    await _warm(api)
    responses = await _at_once(
        *(api.client.post(members, json={"userId": user_id}, headers=owner) for _ in range(N // 2)),
        *(api.client.post(members, json={"userId": user_id}, headers=user) for _ in range(N // 2)),
    )
    assert _statuses(responses) == {200: N}
    assert {tuple(r.json().items()) for r in responses} == {
        (("userId", user_id), ("role", "member"))
    }
    async with api.context.sessions() as session:
        rows = await session.scalar(
            select(func.count()).select_from(SpaceMember).where(SpaceMember.user_id == user_id)
        )
    assert rows == 1


async def test_a_promotion_racing_a_moderators_addition_ends_in_the_promotion(api: Api) -> None:
    _, owner = await api.user()
    moderator_id, moderator = await api.user()
    space_id = await _space(api, owner, "private")
    members = f"/api/v1/space/{space_id}/members"
    await api.client.post(
        members, json={"userId": moderator_id, "role": "moderator"}, headers=owner
    )
    users = [(await api.user())[0] for _ in range(N // 2)]
    await _warm(api)
    responses = await _at_once(
        *(
            call
            for user_id in users
            for call in (
                api.client.post(
                    members, json={"userId": user_id, "role": "moderator"}, headers=owner
                ),
                api.client.post(members, json={"userId": user_id}, headers=moderator),
            )
        )
    )
    # The owner's promotions all apply; a moderator may add a plain member but never
    # demote a moderator, whichever request came first.
    assert [r.status_code for r in responses[::2]] == [200] * len(users)
    assert set(_statuses(responses[1::2])) <= {200, 403}
    roles = await api.client.get(members, headers=owner)
    by_user = {m["userId"]: m["role"] for m in roles.json()["members"]}
    assert [by_user[user_id] for user_id in users] == ["moderator"] * len(users)


async def test_one_of_many_concurrent_room_deletions_wins(api: Api) -> None:
    _, owner = await api.user()
    space_id = await _space(api, owner)
    room = await api.client.post(
        "/api/v1/chatroom", json={"spaceId": space_id, "name": "team"}, headers=owner
    )
    url = f"/api/v1/chatroom/{room.json()['id']}"
    await _warm(api)
    responses = await _at_once(*(api.client.delete(url, headers=owner) for _ in range(N)))
    assert _statuses(responses) == {200: 1, 404: N - 1}


async def test_concurrent_joins_and_invitations_add_one_row(api: Api) -> None:
    _, owner = await api.user()
    user_id, user = await api.user()
    space_id = await _space(api, owner)
    room = await api.client.post(
        "/api/v1/chatroom", json={"spaceId": space_id, "name": "team"}, headers=owner
    )
    url = f"/api/v1/chatroom/{room.json()['id']}"
    await _warm(api)
    responses = await _at_once(
        *(api.client.post(f"{url}/join", headers=user) for _ in range(N // 2)),
        *(
            api.client.post(f"{url}/members", json={"userId": user_id}, headers=owner)
            for _ in range(N // 2)
        ),
    )
    assert _statuses(responses) == {200: N}, [r.text for r in responses]
    leaves = await _at_once(*(api.client.post(f"{url}/leave", headers=user) for _ in range(N)))
    assert _statuses(leaves) == {200: N}
    async with api.context.sessions() as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(ChatRoomMember)
            .where(ChatRoomMember.user_id == user_id)
        )
    assert rows == 0
