"""Sign-up, sign-in, token refresh and sign-out."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field

from metaverse.accounts.service import TokenPair
from metaverse.api.deps import AuthFirstRoute, Context, Session
from metaverse.api.fields import Body, Password, Username
from metaverse.api.openapi import errors

router = APIRouter(route_class=AuthFirstRoute, tags=["accounts"])


class SignupBody(Body):
    username: Username
    password: Password
    type: Literal["user", "admin"] = "user"


class SigninBody(Body):
    # Sign-in checks only shape and size: a username that could never exist is simply wrong.
    username: Password
    password: Password


class RefreshBody(Body):
    refresh_token: Password = Field(alias="refreshToken")


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _tokens(pair: TokenPair) -> dict[str, Any]:
    return {
        "token": pair.access_token,
        "refreshToken": pair.refresh_token,
        "expiresIn": pair.expires_in_s,
    }


@router.post("/signup", responses=errors(403, 429))
async def signup(body: SignupBody, request: Request, context: Context, session: Session) -> Any:
    context.accounts.throttle(client_address(request), body.username)
    user_id = await context.accounts.signup(session, body.username, body.password, body.type)
    return {"userId": user_id}


@router.post("/signin", responses=errors(403, 429))
async def signin(body: SigninBody, request: Request, context: Context, session: Session) -> Any:
    context.accounts.throttle(client_address(request), body.username)
    return _tokens(await context.accounts.signin(session, body.username, body.password))


@router.post("/token/refresh", responses=errors(401))
async def refresh(body: RefreshBody, context: Context, session: Session) -> Any:
    return _tokens(await context.accounts.refresh(session, body.refresh_token))


@router.post("/signout")
async def signout(body: RefreshBody, context: Context, session: Session) -> Any:
    await context.accounts.signout(session, body.refresh_token)
    return {}
