"""Profiles: display name, avatar, status; and the public avatar look-up."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.accounts.tokens import Principal
from metaverse.db.models import Avatar, User
from metaverse.errors import InvalidToken, UnknownId

UNSET: Any = object()


async def _user(session: AsyncSession, principal: Principal) -> User:
    user = await session.get(User, principal.user_id)
    if user is None:  # the account was deleted after the token was issued
        raise InvalidToken("the account behind this token no longer exists")
    return user


async def profile_view(session: AsyncSession, user: User) -> dict[str, Any]:
    avatar = await session.get(Avatar, user.avatar_id) if user.avatar_id else None
    return {
        "id": user.id,
        "username": user.username,
        "displayName": user.display_name,
        # A guest's row keeps role "user"; the profile says what they are.
        "role": "guest" if user.guest_space_id is not None else user.role,
        "guest": user.guest_space_id is not None,
        "guestSpaceId": user.guest_space_id,
        "avatarId": user.avatar_id,
        "avatarUrl": avatar.image_url if avatar is not None else None,
        "status": user.status,
        "statusText": user.status_text,
        "createdAt": user.created_at.isoformat(),
    }


async def get_me(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    return await profile_view(session, await _user(session, principal))


async def update_me(
    session: AsyncSession,
    principal: Principal,
    *,
    display_name: str | None = UNSET,
    status_text: str | None = UNSET,
    avatar_id: str | None = UNSET,
    status: str = UNSET,
) -> dict[str, Any]:
    """Change only the fields given; `None` clears a clearable field."""
    user = await _user(session, principal)
    if avatar_id is not UNSET:
        if avatar_id is not None and await session.get(Avatar, avatar_id) is None:
            raise UnknownId("no avatar has that id")
        user.avatar_id = avatar_id
    if display_name is not UNSET:
        user.display_name = display_name or None
    if status_text is not UNSET:
        user.status_text = status_text or None
    if status is not UNSET:
        user.status = status
    await session.commit()
    return await profile_view(session, user)


async def set_avatar(session: AsyncSession, principal: Principal, avatar_id: str) -> None:
    await update_me(session, principal, avatar_id=avatar_id)


async def bulk_avatars(session: AsyncSession, user_ids: list[str]) -> list[dict[str, Any]]:
    if not user_ids:
        return []
    rows = await session.execute(
        select(User.id, Avatar.image_url)
        .outerjoin(Avatar, Avatar.id == User.avatar_id)
        .where(User.id.in_(user_ids))
    )
    found = {user_id: image_url for user_id, image_url in rows}
    # Keep the order asked for; ask twice, get one entry.
    ordered = dict.fromkeys(uid for uid in user_ids if uid in found)
    return [{"userId": uid, "imageUrl": found[uid]} for uid in ordered]
