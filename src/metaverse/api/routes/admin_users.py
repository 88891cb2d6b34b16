"""Accounts, for platform admins: `/admin/users`. Every route needs an admin token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from metaverse.accounts import admin_users
from metaverse.api.deps import AdminUser, AuthFirstRoute, Context, Session
from metaverse.api.fields import Body
from metaverse.api.openapi import errors
from metaverse.protocol.control import AccountDisabled, RoleChanged

router = APIRouter(prefix="/admin/users", route_class=AuthFirstRoute, tags=["admin"])


class UserPatch(Body):
    role: Literal["user", "admin"] | None = None
    disabled: bool | None = None


@router.get("")
async def list_users(
    _admin: AdminUser,
    session: Session,
    q: Annotated[str, Query(max_length=64)] = "",
    limit: Annotated[int, Query(ge=1, le=admin_users.MAX_LIMIT)] = admin_users.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    return await admin_users.list_users(session, q=q, limit=limit, cursor=cursor)


@router.patch("/{user_id}", responses=errors(404))
async def update_user(
    user_id: str, body: UserPatch, admin: AdminUser, session: Session, context: Context
) -> Any:
    user = await admin_users.update_user(
        session,
        admin,
        user_id,
        now=datetime.fromtimestamp(context.clock.now(), UTC),
        role=body.role,
        disabled=body.disabled,
    )
    if body.disabled:
        await context.announce(AccountDisabled(user_id=user_id))
    if body.role is not None:
        await context.announce(RoleChanged(user_id=user_id, role=body.role))
    return user
