"""Space membership: owner, moderators and members.

Rules: the owner adds, promotes, demotes and removes anyone but themselves; moderators
add and remove plain members; anyone signed in may join a public space as a member and
anyone but the owner may leave. The owner's role never changes (delete the space instead).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.accounts.tokens import Principal
from metaverse.db.models import SpaceMember, User
from metaverse.errors import Forbidden, InvalidInput, UnknownId
from metaverse.spaces.access import check_enter, load_space, member_role


async def list_members(
    session: AsyncSession, principal: Principal, space_id: str
) -> list[dict[str, Any]]:
    space = await load_space(session, space_id)
    await check_enter(session, space, principal)
    rows = await session.execute(
        select(SpaceMember.role, User.id, User.username, User.display_name)
        .join(User, User.id == SpaceMember.user_id)
        .where(SpaceMember.space_id == space.id)
        .order_by(SpaceMember.created_at, User.username)
    )
    return [
        {"userId": user_id, "username": username, "displayName": display_name, "role": role}
        for role, user_id, username, display_name in rows
    ]


async def add_member(
    session: AsyncSession, principal: Principal, space_id: str, *, user_id: str, role: str
) -> dict[str, str]:
    space = await load_space(session, space_id)
    if role == "owner":
        raise InvalidInput("a space has exactly one owner", code="invalid_role")
    if await session.get(User, user_id) is None:
        raise UnknownId("no user has that id")
    caller = await member_role(session, space.id, principal.user_id)
    current = await member_role(session, space.id, user_id)
    if current == role:
        return {"userId": user_id, "role": role}
    if current == "owner":
        raise Forbidden("the owner's role cannot change")
    self_join = (
        user_id == principal.user_id
        and space.visibility == "public"
        and role == "member"
        and current is None
    )
    allowed = (
        self_join
        or caller == "owner"
        or (caller == "moderator" and role == "member" and current is None)
    )
    if not allowed:
        raise Forbidden("you may not give that role in this space")
    if current is None:
        session.add(SpaceMember(space_id=space.id, user_id=user_id, role=role))
    else:
        member = await session.get(SpaceMember, (space.id, user_id))
        assert member is not None
        member.role = role
    await session.commit()
    return {"userId": user_id, "role": role}


async def remove_member(
    session: AsyncSession, principal: Principal, space_id: str, *, user_id: str
) -> None:
    space = await load_space(session, space_id)
    member = await session.get(SpaceMember, (space.id, user_id))
    if member is None:
        raise UnknownId("that user is not a member of this space")
    if member.role == "owner":
        raise Forbidden("the owner cannot leave their space; delete it instead")
    caller = await member_role(session, space.id, principal.user_id)
    allowed = (
        user_id == principal.user_id
        or caller == "owner"
        or (caller == "moderator" and member.role == "member")
    )
    if not allowed:
        raise Forbidden("you may not remove that member")
    await session.delete(member)
    await session.commit()
