"""Guests: people without an account who enter one space with a display name only.

A guest is a `users` row with `guest_space_id` set, a generated unique username
(`guest-<hex>`) and no usable password, so chat, history and the consumer treat them as
anyone else. Their access token says `role: guest` and names the space; it lasts
`GUEST_TOKEN_TTL_S` and has no refresh token. The row stays after the token expires (their
messages keep their sender) and goes with the space (ON DELETE CASCADE).
"""

from __future__ import annotations

import secrets
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.accounts.tokens import AccessTokens
from metaverse.db.atomic import parent_must_exist
from metaverse.db.ids import new_id
from metaverse.db.models import Space, User
from metaverse.errors import Forbidden, UnknownId
from metaverse.spaces.access import load_space

GUEST_TOKEN_TTL_S: Final = 2 * 60 * 60
# Not an argon2 hash: no password verifies against it, so a guest can never sign in.
NO_PASSWORD: Final = "!guest"  # noqa: S105


async def guest_entry(session: AsyncSession, space_id: str) -> dict[str, Any]:
    """What the space page shows someone signed out: whether guests may enter (and, if
    so, the space's name; a space closed to guests reveals nothing)."""
    space = await session.get(Space, space_id)
    if space is None or not space.guests:
        return {"guests": False}
    return {"guests": True, "spaceId": space.id, "spaceName": space.name}


async def create_guest(
    session: AsyncSession, tokens: AccessTokens, space_id: str, display_name: str
) -> dict[str, Any]:
    space = await load_space(session, space_id)
    if not space.guests:
        raise Forbidden("this space does not let guests in", code="guests_not_allowed")
    space_id = space.id
    user = User(
        id=new_id(),
        username=f"guest-{secrets.token_hex(6)}",
        password_hash=NO_PASSWORD,
        role="user",
        display_name=display_name,
        guest_space_id=space_id,
    )
    async with parent_must_exist(session, Space, space_id, UnknownId("no space has that id")):
        session.add(user)
        await session.commit()
    token = tokens.issue(user.id, "guest", space_id=space_id, ttl_s=GUEST_TOKEN_TTL_S)
    return {
        "token": token,
        "expiresIn": GUEST_TOKEN_TTL_S,
        "userId": user.id,
        "spaceId": space_id,
    }
