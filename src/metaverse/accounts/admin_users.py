"""Platform admins over accounts: list and search them, promote and demote, disable.

Rules: the platform always keeps an enabled admin (a demotion or a disabling that would
leave none is refused with `last_admin`), an admin can't disable their own account
(`own_account`), and a guest can't be made an admin. Disabling stamps `disabled_at` and
revokes every refresh token of the account; enabling it again clears the stamp (the
person signs in afresh).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.accounts.tokens import Principal
from metaverse.db.atomic import lock_table
from metaverse.db.engine import unicode_lower
from metaverse.db.models import Avatar, RefreshToken, User
from metaverse.errors import InvalidInput, NotFound

Role = Literal["user", "admin"]
MAX_LIMIT: Final = 100
DEFAULT_LIMIT: Final = 50


def user_view(user: User, avatar_url: str | None) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "displayName": user.display_name,
        "role": user.role,
        "avatarUrl": avatar_url,
        "guest": user.guest_space_id is not None,
        "disabled": user.disabled_at is not None,
        "disabledAt": user.disabled_at.isoformat() if user.disabled_at is not None else None,
        "createdAt": user.created_at.isoformat(),
    }


def _matches(q: str) -> ColumnElement[bool]:
    """`q` anywhere in the username or the display name, whatever the case (`%` and `_`
    are plain characters)."""
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return or_(
        unicode_lower(User.username).like(pattern, escape="\\"),
        unicode_lower(User.display_name).like(pattern, escape="\\"),
    )


async def list_users(
    session: AsyncSession, *, q: str = "", limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> dict[str, Any]:
    """A page of accounts in username order; `nextCursor` (or null) continues it."""
    query = select(User, Avatar.image_url).outerjoin(Avatar, Avatar.id == User.avatar_id)
    if q.strip():
        query = query.where(_matches(q.strip()))
    if cursor:
        query = query.where(func.lower(User.username) > cursor.lower())
    rows = (await session.execute(query.order_by(func.lower(User.username)).limit(limit + 1))).all()
    page = rows[:limit]
    more = len(rows) > limit
    return {
        "users": [user_view(user, avatar_url) for user, avatar_url in page],
        "nextCursor": page[-1][0].username.lower() if more and page else None,
    }


async def update_user(
    session: AsyncSession,
    actor: Principal,
    user_id: str,
    *,
    now: datetime,
    role: Role | None = None,
    disabled: bool | None = None,
) -> dict[str, Any]:
    """Apply the changes asked for and return the account as it now is."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("no user has that id")
    if role == "admin" and user.guest_space_id is not None:
        raise InvalidInput("a guest can't be an admin", code="invalid_role")
    if disabled and user_id == actor.user_id:
        raise InvalidInput("you can't disable your own account", code="own_account")
    if role == "user" or disabled:
        # Counting the other admins and changing this one must be one step: two admins
        # demoting each other at once would otherwise leave none.
        await lock_table(session, User)
        await session.refresh(user)
        if (
            user.role == "admin"
            and user.disabled_at is None
            and not await _other_admins(session, user_id)
        ):
            raise InvalidInput(
                "the platform needs an admin: promote someone else first", code="last_admin"
            )
    values: dict[str, Any] = {}
    if role is not None:
        values["role"] = role
    if disabled is True and user.disabled_at is None:
        values["disabled_at"] = now
    elif disabled is False:
        values["disabled_at"] = None
    if values:
        await session.execute(update(User).where(User.id == user_id).values(**values))
    if disabled:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    await session.commit()
    await session.refresh(user)
    avatar = await session.get(Avatar, user.avatar_id) if user.avatar_id else None
    return user_view(user, avatar.image_url if avatar is not None else None)


async def _other_admins(session: AsyncSession, user_id: str) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.disabled_at.is_(None), User.id != user_id)
    )
    return count or 0
