"""Space membership: owner, moderators and members.

Rules: the owner adds, promotes, demotes and removes anyone but themselves; moderators
add and remove plain members; anyone signed in may join a public space as a member and
anyone but the owner may leave. The owner's role never changes (delete the space instead).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.accounts.tokens import Principal
from metaverse.db.atomic import insert_if_absent, parent_must_exist
from metaverse.db.models import Space, SpaceMember, User
from metaverse.errors import Conflict, Forbidden, InvalidInput, UnknownId
from metaverse.spaces.access import check_enter, load_space, member_role

# Each change is conditional on the membership read just before it; when another request
# changed it in between, the rules are checked again on what is there now.
ATTEMPTS = 5
_CHANGING = "the membership kept changing; try again"


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
    # Plain values: a rollback below expires the loaded row.
    space_id, public = space.id, space.visibility == "public"
    owner = space.owner_id == principal.user_id
    if role == "owner":
        raise InvalidInput("a space has exactly one owner", code="invalid_role")
    if await session.get(User, user_id) is None:
        raise UnknownId("no user has that id")
    for _ in range(ATTEMPTS):
        caller = "owner" if owner else await member_role(session, space_id, principal.user_id)
        current = await member_role(session, space_id, user_id)
        if current == role:
            return {"userId": user_id, "role": role}
        if current == "owner":
            raise Forbidden("the owner's role cannot change")
        self_join = user_id == principal.user_id and public and role == "member" and current is None
        allowed = (
            self_join
            or caller == "owner"
            or (caller == "moderator" and role == "member" and current is None)
        )
        if not allowed:
            raise Forbidden("you may not give that role in this space")
        async with parent_must_exist(session, Space, space_id, UnknownId("no space has that id")):
            if await _set_role(session, space_id, user_id, current, role):
                await session.commit()
                return {"userId": user_id, "role": role}
        await session.rollback()
    raise Conflict(_CHANGING)  # pragma: no cover - takes ATTEMPTS writers in a row


async def remove_member(
    session: AsyncSession, principal: Principal, space_id: str, *, user_id: str
) -> None:
    space_id = (await load_space(session, space_id)).id
    for _ in range(ATTEMPTS):
        role = await member_role(session, space_id, user_id)
        if role is None:
            raise UnknownId("that user is not a member of this space")
        if role == "owner":
            raise Forbidden("the owner cannot leave their space; delete it instead")
        caller = await member_role(session, space_id, principal.user_id)
        allowed = (
            user_id == principal.user_id
            or caller == "owner"
            or (caller == "moderator" and role == "member")
        )
        if not allowed:
            raise Forbidden("you may not remove that member")
        removed = await session.scalar(
            delete(SpaceMember)
            .where(*_member_is(space_id, user_id, role))
            .returning(SpaceMember.user_id)
        )
        if removed is not None:
            await session.commit()
            return
        await session.rollback()
    raise Conflict(_CHANGING)  # pragma: no cover - takes ATTEMPTS writers in a row


async def _set_role(
    session: AsyncSession, space_id: str, user_id: str, current: str | None, role: str
) -> bool:
    """Give `user_id` the role if their membership is still `current` (None: not a member);
    False if another request changed it since it was read."""
    if current is None:
        return await insert_if_absent(
            session, SpaceMember, space_id=space_id, user_id=user_id, role=role
        )
    changed = await session.scalar(
        update(SpaceMember)
        .where(*_member_is(space_id, user_id, current))
        .values(role=role)
        .returning(SpaceMember.user_id)
    )
    return changed is not None


def _member_is(space_id: str, user_id: str, role: str) -> tuple[ColumnElement[bool], ...]:
    return (
        SpaceMember.space_id == space_id,
        SpaceMember.user_id == user_id,
        SpaceMember.role == role,
    )
