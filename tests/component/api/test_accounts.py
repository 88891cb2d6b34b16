"""Sign-up, sign-in, tokens, refresh rotation, sign-out, admin policy and rate limits."""

from __future__ import annotations

import jwt
import pytest

from tests.component.conftest import Api, ApiFactory
from tests.conftest import TEST_JWT_SECRET


async def test_signup_returns_user_id(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/signup", json={"username": "ada", "password": "secret1", "type": "user"}
    )
    assert response.status_code == 200
    assert set(response.json()) == {"userId"}
    assert response.json()["userId"]


async def test_signup_twice_with_same_username_is_400(api: Api) -> None:
    body = {"username": "ada", "password": "secret1", "type": "user"}
    assert (await api.client.post("/api/v1/signup", json=body)).status_code == 200
    second = await api.client.post("/api/v1/signup", json=body)
    assert second.status_code == 400
    assert second.json()["code"] == "username_taken"


@pytest.mark.parametrize(
    "body",
    [
        {"password": "secret1", "type": "user"},
        {"username": "ada", "type": "user"},
        {"username": "ada", "password": "secret1", "type": "superuser"},
        {"username": "ab", "password": "secret1"},
        {"username": "a" * 65, "password": "secret1"},
        {"username": "ada lovelace", "password": "secret1"},
        {"username": "ada<script>", "password": "secret1"},
        {"username": 12345, "password": "secret1"},
        {"username": "ada", "password": 123456},
        {"username": "ada", "password": "short"},
        {"username": "ada", "password": "p" * 5000},
        {"username": None, "password": "secret1"},
        [],
        "ada",
    ],
)
async def test_signup_rejects_invalid_bodies(api: Api, body: object) -> None:
    response = await api.client.post("/api/v1/signup", json=body)
    assert response.status_code == 400
    assert {"code", "message"} <= set(response.json())
    me = await api.client.post("/api/v1/signin", json={"username": "ada", "password": "secret1"})
    assert me.status_code == 403  # nothing was created


async def test_signup_type_defaults_to_user(api: Api) -> None:
    await api.client.post("/api/v1/signup", json={"username": "bob", "password": "secret1"})
    token = (
        await api.client.post("/api/v1/signin", json={"username": "bob", "password": "secret1"})
    ).json()["token"]
    me = await api.client.get("/api/v1/user/me", headers={"authorization": f"Bearer {token}"})
    assert me.json()["role"] == "user"


async def test_password_minimum_is_configurable_upward(api_factory: ApiFactory) -> None:
    api = await api_factory(password_min_length=12)
    short = await api.client.post("/api/v1/signup", json={"username": "ada", "password": "a" * 11})
    assert short.status_code == 400
    assert short.json()["code"] == "password_too_short"
    ok = await api.client.post("/api/v1/signup", json={"username": "ada", "password": "a" * 12})
    assert ok.status_code == 200


async def test_signin_returns_tokens(api: Api) -> None:
    await api.signup("ada")
    response = await api.client.post(
        "/api/v1/signin", json={"username": "ada", "password": "password1"}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "refreshToken", "expiresIn"}
    assert body["expiresIn"] == 15 * 60
    claims = jwt.decode(
        body["token"], TEST_JWT_SECRET, algorithms=["HS256"], options={"verify_exp": False}
    )
    assert {"sub", "role", "iat", "exp", "jti"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert "password" not in response.text.lower().replace("password1", "")


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ada", "password": "wrong-password"},
        {"username": "nobody", "password": "password1"},
    ],
)
async def test_signin_with_wrong_credentials_is_403(api: Api, body: dict[str, str]) -> None:
    await api.signup("ada")
    response = await api.client.post("/api/v1/signin", json=body)
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_credentials"


async def test_signin_with_invalid_body_is_400(api: Api) -> None:
    response = await api.client.post("/api/v1/signin", json={"username": "ada"})
    assert response.status_code == 400


async def _me(api: Api, token: str) -> int:
    response = await api.client.get("/api/v1/user/me", headers={"authorization": f"Bearer {token}"})
    return response.status_code


async def test_expired_token_is_401(api: Api) -> None:
    token = await api.token()
    assert await _me(api, token) == 200
    api.clock.advance(15 * 60 + 1)
    assert await _me(api, token) == 401


def _forge(
    claims: dict[str, object], secret: str = TEST_JWT_SECRET, algorithm: str = "HS256"
) -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


async def test_tampered_wrong_secret_and_malformed_tokens_are_401(api: Api) -> None:
    token = await api.token()
    claims = jwt.decode(token, TEST_JWT_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    header, _payload, signature = token.split(".")
    as_admin = _forge({**claims, "role": "admin"}).split(".")[1]
    assert await _me(api, f"{header}.{as_admin}.{signature}") == 401
    assert await _me(api, _forge(claims, secret="another-secret-" + "y" * 40)) == 401
    assert await _me(api, jwt.encode(claims, key="", algorithm="none")) == 401
    assert await _me(api, "not-a-jwt") == 401
    missing_jti = {key: value for key, value in claims.items() if key != "jti"}
    assert await _me(api, _forge(missing_jti)) == 401
    assert await _me(api, _forge({**claims, "role": "root"})) == 401


async def test_missing_or_non_bearer_header_is_403(api: Api) -> None:
    token = await api.token()
    assert (await api.client.get("/api/v1/user/me")).status_code == 403
    response = await api.client.get("/api/v1/user/me", headers={"authorization": token})
    assert response.status_code == 403
    response = await api.client.get("/api/v1/user/me", headers={"authorization": "Bearer "})
    assert response.status_code == 403


async def _signin(api: Api, username: str) -> dict[str, str]:
    response = await api.client.post(
        "/api/v1/signin", json={"username": username, "password": "password1"}
    )
    assert response.status_code == 200
    body: dict[str, str] = response.json()
    return body


async def test_refresh_rotates_and_reuse_revokes_the_family(api: Api) -> None:
    await api.signup("ada")
    first = await _signin(api, "ada")
    rotated = await api.client.post(
        "/api/v1/token/refresh", json={"refreshToken": first["refreshToken"]}
    )
    assert rotated.status_code == 200
    second = rotated.json()
    assert set(second) == {"token", "refreshToken", "expiresIn"}
    assert second["refreshToken"] != first["refreshToken"]
    assert await _me(api, second["token"]) == 200

    # The retired token presented again after the grace window for racing requests:
    # refused, and the whole family dies with it.
    api.clock.advance(api.context.settings.refresh_reuse_grace_s)
    reuse = await api.client.post(
        "/api/v1/token/refresh", json={"refreshToken": first["refreshToken"]}
    )
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "invalid_token"
    stolen = await api.client.post(
        "/api/v1/token/refresh", json={"refreshToken": second["refreshToken"]}
    )
    assert stolen.status_code == 401


async def test_refresh_families_are_independent(api: Api) -> None:
    await api.signup("ada")
    laptop, phone = await _signin(api, "ada"), await _signin(api, "ada")
    await api.client.post("/api/v1/token/refresh", json={"refreshToken": laptop["refreshToken"]})
    await api.client.post("/api/v1/token/refresh", json={"refreshToken": laptop["refreshToken"]})
    response = await api.client.post(
        "/api/v1/token/refresh", json={"refreshToken": phone["refreshToken"]}
    )
    assert response.status_code == 200


async def test_refresh_token_expires(api: Api) -> None:
    await api.signup("ada")
    tokens = await _signin(api, "ada")
    api.clock.advance(30 * 24 * 3600 + 1)
    response = await api.client.post(
        "/api/v1/token/refresh", json={"refreshToken": tokens["refreshToken"]}
    )
    assert response.status_code == 401


@pytest.mark.parametrize("body", [{"refreshToken": "made-up"}, {"refreshToken": 5}, {}])
async def test_refresh_with_unknown_or_invalid_token(api: Api, body: object) -> None:
    response = await api.client.post("/api/v1/token/refresh", json=body)
    assert response.status_code in (400, 401)
    assert response.status_code == (401 if body == {"refreshToken": "made-up"} else 400)


async def test_signout_revokes_the_refresh_token(api: Api) -> None:
    await api.signup("ada")
    tokens = await _signin(api, "ada")
    out = await api.client.post("/api/v1/signout", json={"refreshToken": tokens["refreshToken"]})
    assert out.status_code == 200
    response = await api.client.post(
        "/api/v1/token/refresh", json={"refreshToken": tokens["refreshToken"]}
    )
    assert response.status_code == 401


async def _signup_admin(api: Api, username: str) -> int:
    response = await api.client.post(
        "/api/v1/signup", json={"username": username, "password": "secret1", "type": "admin"}
    )
    return response.status_code


async def test_admin_signup_first_user_policy(api_factory: ApiFactory) -> None:
    api = await api_factory(admin_signup="first-user")
    assert await _signup_admin(api, "founder") == 200
    assert await _signup_admin(api, "latecomer") == 403
    ok = await api.client.post(
        "/api/v1/signup", json={"username": "latecomer", "password": "secret1"}
    )
    assert ok.status_code == 200


async def test_admin_signup_first_user_policy_counts_any_account(api_factory: ApiFactory) -> None:
    api = await api_factory(admin_signup="first-user")
    await api.client.post("/api/v1/signup", json={"username": "someone", "password": "secret1"})
    assert await _signup_admin(api, "founder") == 403


async def test_admin_signup_closed_and_open(api_factory: ApiFactory) -> None:
    closed = await api_factory(admin_signup="closed")
    assert await _signup_admin(closed, "founder") == 403
    opened = await api_factory(admin_signup="open")
    assert await _signup_admin(opened, "second-admin") == 200
    assert await _signup_admin(opened, "third-admin") == 200


async def test_signin_is_rate_limited_per_username(api_factory: ApiFactory) -> None:
    api = await api_factory(auth_rate_per_minute=10, auth_rate_burst=3)
    statuses = [
        (
            await api.client.post("/api/v1/signin", json={"username": "ada", "password": "nope123"})
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [403, 403, 403, 429]
    limited = await api.client.post(
        "/api/v1/signin", json={"username": "ada", "password": "nope123"}
    )
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    api.clock.advance(6)  # 10 per minute: one attempt refills every 6 s
    again = await api.client.post("/api/v1/signin", json={"username": "ada", "password": "nope123"})
    assert again.status_code == 403


async def test_signup_is_rate_limited_per_address(api_factory: ApiFactory) -> None:
    api = await api_factory(auth_rate_per_minute=10, auth_rate_burst=2)
    statuses = []
    for index in range(3):
        response = await api.client.post(
            "/api/v1/signup", json={"username": f"user{index}", "password": "secret1"}
        )
        statuses.append(response.status_code)
    assert statuses == [200, 200, 429]
    assert (
        await api.client.post("/api/v1/signin", json={"username": "user0", "password": "secret1"})
    ).status_code == 429
