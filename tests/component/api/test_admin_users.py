"""`/admin/users`: listing and searching accounts, promoting, demoting and disabling them,
and what a disabled account's tokens get (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from metaverse.protocol.control import AccountDisabled, decode_control
from tests.component.conftest import Api

USERS = "/api/v1/admin/users"


async def _signin(api: Api, username: str) -> dict[str, Any]:
    response = await api.client.post(
        "/api/v1/signin", json={"username": username, "password": "password1"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _id_of(api: Api, headers: dict[str, str]) -> str:
    me = await api.client.get("/api/v1/user/me", headers=headers)
    assert me.status_code == 200, me.text
    user_id: str = me.json()["id"]
    return user_id


async def _patch(api: Api, admin: dict[str, str], user_id: str, **body: Any) -> httpx.Response:
    return await api.client.patch(f"{USERS}/{user_id}", json=body, headers=admin)


async def test_only_admins_list_users(api: Api) -> None:
    _, user = await api.user()
    assert (await api.client.get(USERS)).status_code == 403
    refused = await api.client.get(USERS, headers=user)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    refused = await api.client.patch(f"{USERS}/x", json={"role": "admin"}, headers=user)
    assert refused.status_code == 403


async def test_list_pages_in_username_order_and_searches_names(api: Api) -> None:
    _, admin = await api.user(admin=True)
    for name in ("zoe", "Bob", "alice", "carol_x", "dave"):
        await api.signup(name)
    _, headers = await api.user()
    await api.client.patch("/api/v1/user/me", json={"displayName": "Ms Ünal"}, headers=headers)

    first = (await api.client.get(f"{USERS}?limit=2", headers=admin)).json()
    assert [u["username"] for u in first["users"]] == ["alice", "Bob"]
    assert first["nextCursor"] == "bob"
    rest: list[str] = []
    cursor = first["nextCursor"]
    while cursor:
        page = (await api.client.get(f"{USERS}?limit=2&cursor={cursor}", headers=admin)).json()
        rest += [u["username"] for u in page["users"]]
        cursor = page["nextCursor"]
    assert rest[:2] == ["carol_x", "dave"] and "zoe" in rest
    entry = first["users"][0]
    assert set(entry) == {
        "id",
        "username",
        "displayName",
        "role",
        "avatarUrl",
        "guest",
        "disabled",
        "disabledAt",
        "createdAt",
    }
    assert (entry["role"], entry["disabled"], entry["guest"]) == ("user", False, False)

    async def search(q: str) -> list[str]:
        response = await api.client.get(USERS, params={"q": q}, headers=admin)
        assert response.status_code == 200, response.text
        return [u["username"] for u in response.json()["users"]]

    assert await search("BO") == ["Bob"]
    assert await search("ms ü") == await search("Ms Ü") != []  # display names too
    assert await search("_") == ["carol_x"]  # not a wildcard
    assert await search("%") == []
    bad = await api.client.get(f"{USERS}?limit=0", headers=admin)
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_request")


async def test_promoting_and_demoting_take_effect_at_once(api: Api) -> None:
    _, admin = await api.user(admin=True)
    user_id, user = await api.user()
    promoted = await _patch(api, admin, user_id, role="admin")
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["role"] == "admin"
    # The token still says "user"; the account is what counts.
    assert (await api.client.get(USERS, headers=user)).status_code == 200
    demoted = await _patch(api, admin, user_id, role="user")
    assert demoted.json()["role"] == "user"
    assert (await api.client.get(USERS, headers=user)).status_code == 403
    unknown = await _patch(api, admin, "nobody", role="admin")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    bad = await _patch(api, admin, user_id, role="owner")
    assert bad.status_code == 400


async def test_the_last_admin_stays_an_admin(api: Api) -> None:
    admin_id, admin = await api.user(admin=True)
    refused = await _patch(api, admin, admin_id, role="user")
    assert (refused.status_code, refused.json()["code"]) == (400, "last_admin")
    other_id, _ = await api.user(admin=True)
    assert (await _patch(api, admin, admin_id, role="user")).status_code == 200
    # No longer an admin: the next request knows it.
    assert (await _patch(api, admin, other_id, role="user")).status_code == 403


async def test_an_admin_cannot_disable_themselves(api: Api) -> None:
    admin_id, admin = await api.user(admin=True)
    refused = await _patch(api, admin, admin_id, disabled=True)
    assert (refused.status_code, refused.json()["code"]) == (400, "own_account")


async def test_disabling_stops_tokens_sign_in_and_refresh_at_once(api: Api) -> None:
    _, admin = await api.user(admin=True)
    username = await api.signup()
    tokens = await _signin(api, username)
    headers = _auth(tokens["token"])
    user_id = await _id_of(api, headers)

    disabled = await _patch(api, admin, user_id, disabled=True)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled"] is True and disabled.json()["disabledAt"]

    refused = await api.client.get("/api/v1/user/me", headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (401, "account_disabled")
    refused = await api.client.post(
        "/api/v1/token/refresh", json={"refreshToken": tokens["refreshToken"]}
    )
    assert (refused.status_code, refused.json()["code"]) == (401, "account_disabled")
    refused = await api.client.post(
        "/api/v1/signin", json={"username": username, "password": "password1"}
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "account_disabled")
    # The wrong password says nothing about the account.
    wrong = await api.client.post(
        "/api/v1/signin", json={"username": username, "password": "password2"}
    )
    assert wrong.json()["code"] == "invalid_credentials"
    listed = (await api.client.get(USERS, params={"q": username}, headers=admin)).json()
    assert listed["users"][0]["disabled"] is True

    # Enabled again: a fresh sign-in works; the sessions of before stay ended.
    enabled = await _patch(api, admin, user_id, disabled=False)
    assert enabled.json()["disabled"] is False
    again = await _signin(api, username)
    assert (await api.client.get("/api/v1/user/me", headers=_auth(again["token"]))).is_success
    stale = await api.client.post(
        "/api/v1/token/refresh", json={"refreshToken": tokens["refreshToken"]}
    )
    assert stale.status_code == 401


async def test_disabling_tells_the_gateways(api: Api) -> None:
    _, admin = await api.user(admin=True)
    user_id, _ = await api.user()
    await api.context.pubsub.subscribe("control")
    await _patch(api, admin, user_id, disabled=True)
    async with asyncio.timeout(2):
        async for _channel, data in api.context.pubsub.messages():
            assert decode_control(data) == AccountDisabled(user_id=user_id)
            break


async def test_two_admins_demoting_each_other_at_once_leave_one(api: Api) -> None:
    ann_id, ann = await api.user(admin=True)
    bob_id, bob = await api.user(admin=True)
    # Other admins would make both demotions legal: these two are the only ones.
    results = await asyncio.gather(
        _patch(api, ann, bob_id, role="user"), _patch(api, bob, ann_id, role="user")
    )
    # The loser is refused as the last admin, or, when the winner committed before it was
    # authenticated, as no admin any more.
    statuses = sorted(r.status_code for r in results)
    assert statuses in ([200, 400], [200, 403]), [r.text for r in results]
    listed = (await api.client.get(USERS, headers=ann if results[0].is_success else bob)).json()
    assert [u["role"] for u in listed["users"]].count("admin") == 1


async def test_a_disabling_and_a_request_racing_it(api: Api) -> None:
    """Requests in flight while an account is disabled either finish before or are
    refused; none after the disabling's answer succeeds."""
    _, admin = await api.user(admin=True)
    user_id, user = await api.user()

    async def keep_asking() -> list[int]:
        statuses = []
        for _ in range(20):
            statuses.append((await api.client.get("/api/v1/user/me", headers=user)).status_code)
        return statuses

    asking = asyncio.create_task(keep_asking())
    await _patch(api, admin, user_id, disabled=True)
    after = (await api.client.get("/api/v1/user/me", headers=user)).status_code
    statuses = await asking
    assert after == 401
    # Once refused, always refused.
    first_refusal = statuses.index(401) if 401 in statuses else len(statuses)
    assert set(statuses[first_refusal:]) <= {401}
    assert set(statuses[:first_refusal]) <= {200}
