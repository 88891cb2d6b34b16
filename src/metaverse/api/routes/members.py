"""Membership of a space: `/space/{space_id}/members`."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from metaverse.api.deps import AuthFirstRoute, Context, CurrentUser, Session
from metaverse.api.fields import Body, Id
from metaverse.protocol.control import AccessChanged
from metaverse.spaces import members

router = APIRouter(route_class=AuthFirstRoute, tags=["members"])


class MemberBody(Body):
    user_id: Id = Field(alias="userId")
    role: Literal["owner", "moderator", "member"] = "member"


class MemberRemoval(Body):
    user_id: Id = Field(alias="userId")


@router.get("/{space_id}/members")
async def list_members(space_id: str, user: CurrentUser, session: Session) -> Any:
    return {"members": await members.list_members(session, user, space_id)}


@router.post("/{space_id}/members")
async def add_member(space_id: str, body: MemberBody, user: CurrentUser, session: Session) -> Any:
    return await members.add_member(session, user, space_id, user_id=body.user_id, role=body.role)


@router.delete("/{space_id}/members")
async def remove_member(
    space_id: str, body: MemberRemoval, user: CurrentUser, session: Session, context: Context
) -> Any:
    await members.remove_member(session, user, space_id, user_id=body.user_id)
    await context.announce(AccessChanged(space_id=space_id))
    return {}
