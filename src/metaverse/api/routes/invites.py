"""Invite links: `/space/{space_id}/invites` for the space's managers, and
`/invites/{token}` for whoever holds a link."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import Field

from metaverse.api.deps import AuthFirstRoute, Context, CurrentUser, Session
from metaverse.api.fields import Body
from metaverse.api.openapi import errors
from metaverse.spaces import invites
from metaverse.spaces.invites import InviteRole

router = APIRouter(route_class=AuthFirstRoute, tags=["invites"])

MAX_EXPIRES_IN_S = 365 * 24 * 60 * 60


class InviteBody(Body):
    role: InviteRole = "member"
    expires_in_s: Annotated[int, Field(ge=60, le=MAX_EXPIRES_IN_S)] | None = Field(
        None, alias="expiresInS"
    )
    max_uses: Annotated[int, Field(ge=1, le=100_000)] | None = Field(None, alias="maxUses")


def _now(context: Context) -> datetime:
    return datetime.fromtimestamp(context.clock.now(), UTC)


def invite_url(request: Request, context: Context, token: str) -> str:
    """`<METAVERSE_PUBLIC_URL, or the origin this request came to>/invite/<token>`."""
    origin = context.settings.public_url or str(request.base_url)
    return f"{origin.rstrip('/')}/invite/{token}"


@router.post("/space/{space_id}/invites")
async def create_invite(
    space_id: str,
    body: InviteBody,
    request: Request,
    user: CurrentUser,
    session: Session,
    context: Context,
) -> Any:
    invite = await invites.create_invite(
        session,
        user,
        space_id,
        role=body.role,
        expires_in_s=body.expires_in_s,
        max_uses=body.max_uses,
        now=_now(context),
    )
    return invites.invite_view(invite, invite_url(request, context, invite.token))


@router.get("/space/{space_id}/invites")
async def list_invites(
    space_id: str, request: Request, user: CurrentUser, session: Session, context: Context
) -> Any:
    rows = await invites.list_invites(session, user, space_id)
    return {
        "invites": [
            invites.invite_view(invite, invite_url(request, context, invite.token))
            for invite in rows
        ]
    }


@router.delete("/space/{space_id}/invites/{token}", responses=errors(404))
async def revoke_invite(
    space_id: str, token: str, user: CurrentUser, session: Session, context: Context
) -> Any:
    await invites.revoke_invite(session, user, space_id, token, now=_now(context))
    return {}


@router.get("/invites/{token}", responses=errors(404))
async def describe_invite(token: str, session: Session, context: Context) -> Any:
    return await invites.describe_invite(session, token, _now(context))


@router.post("/invites/{token}/accept", responses=errors(404, 410))
async def accept_invite(token: str, user: CurrentUser, session: Session, context: Context) -> Any:
    accepted = await invites.accept_invite(session, user, token, now=_now(context))
    return {"spaceId": accepted.space_id, "role": accepted.role}
