"""Who may do what in a space."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.accounts.tokens import Principal
from metaverse.db.models import Space, SpaceMember
from metaverse.errors import Forbidden, UnknownId

MANAGERS = ("owner", "moderator")


async def load_space(session: AsyncSession, space_id: str) -> Space:
    space = await session.get(Space, space_id)
    if space is None:
        raise UnknownId("no space has that id")
    return space


async def member_role(session: AsyncSession, space_id: str, user_id: str) -> str | None:
    role: str | None = await session.scalar(
        select(SpaceMember.role).where(
            SpaceMember.space_id == space_id, SpaceMember.user_id == user_id
        )
    )
    return role


class SpaceEntry(Protocol):
    """What the entry rule reads of a space (a `Space` row has it)."""

    id: str
    visibility: str
    owner_id: str
    guests: bool


def may_enter_as(space: SpaceEntry, principal: Principal, *, member: bool) -> bool:
    """The entry rule, given whether the principal is a member of the space. Public
    spaces: anyone signed in. Private: members, the owner, and platform admins always.
    A guest: only the space their token names, while it lets guests in."""
    if principal.is_guest:
        return space.guests and principal.space_id == space.id
    return (
        space.visibility == "public"
        or principal.is_admin
        or space.owner_id == principal.user_id
        or member
    )


async def may_enter(session: AsyncSession, space: Space, principal: Principal) -> bool:
    """`may_enter_as`, asking the database about membership only when it matters."""
    if may_enter_as(space, principal, member=False):
        return True
    if principal.is_guest:
        return False
    return await member_role(session, space.id, principal.user_id) is not None


async def check_enter(session: AsyncSession, space: Space, principal: Principal) -> None:
    if not await may_enter(session, space, principal):
        raise Forbidden("this space is private", code="private_space")


async def check_manage(session: AsyncSession, space: Space, principal: Principal) -> str:
    """The caller's role if they are the owner or a moderator; otherwise 403."""
    if space.owner_id == principal.user_id:
        return "owner"
    role = await member_role(session, space.id, principal.user_id)
    if role not in MANAGERS:
        raise Forbidden("only the space's owner and moderators may do this")
    assert role is not None
    return role


def check_owner(space: Space, principal: Principal) -> None:
    if space.owner_id != principal.user_id:
        raise Forbidden("only the space's owner may do this")
