"""Invite links: a token that makes whoever accepts it a member of a space with a role.

Owners create links for members and moderators; moderators for members only. A link may
expire (`expires_at`) and be used up (`max_uses`); either may be revoked. Accepting
counts one use by one conditional UPDATE, so of any number of concurrent acceptances of a
link with `max_uses` = n, exactly n succeed. Accepting never lowers a role: an owner or
moderator who accepts a member link keeps their role (and the use is counted).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.accounts.tokens import Principal
from metaverse.db.atomic import insert_if_absent
from metaverse.db.models import Space, SpaceInvite, SpaceMember
from metaverse.errors import Forbidden, MetaverseError, NotFound
from metaverse.spaces.access import check_manage, load_space

InviteRole = Literal["member", "moderator"]
# What `accept` leaves in place: a role at least as high as the invite's.
_RANK = {"member": 0, "moderator": 1, "owner": 2}
TOKEN_BYTES = 24  # 192 bits, 32 URL-safe characters


class InviteGone(MetaverseError):
    """The link exists but can't be used any more (`invite_expired`, `invite_used_up`,
    `invite_revoked`)."""

    status = 410


@dataclass(frozen=True, slots=True)
class Accepted:
    space_id: str
    role: str


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone-aware columns; they are UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    aware = _aware(moment)
    return aware.isoformat().replace("+00:00", "Z") if aware is not None else None


def invite_view(invite: SpaceInvite, url: str) -> dict[str, Any]:
    return {
        "token": invite.token,
        "url": url,
        "role": invite.role,
        "createdBy": invite.created_by,
        "createdAt": _iso(invite.created_at),
        "expiresAt": _iso(invite.expires_at),
        "maxUses": invite.max_uses,
        "uses": invite.uses,
        "revoked": invite.revoked_at is not None,
    }


def why_unusable(invite: SpaceInvite, now: datetime) -> InviteGone | None:
    """Why the link can't be accepted now; None when it can."""
    if invite.revoked_at is not None:
        return InviteGone("this invite link was revoked", code="invite_revoked")
    expires_at = _aware(invite.expires_at)
    if expires_at is not None and expires_at <= now:
        return InviteGone("this invite link has expired", code="invite_expired")
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return InviteGone("this invite link has been used up", code="invite_used_up")
    return None


async def create_invite(
    session: AsyncSession,
    principal: Principal,
    space_id: str,
    *,
    role: InviteRole,
    expires_in_s: int | None,
    max_uses: int | None,
    now: datetime,
) -> SpaceInvite:
    space = await load_space(session, space_id)
    caller = await check_manage(session, space, principal)
    if role == "moderator" and caller != "owner":
        raise Forbidden("only the space's owner may invite moderators")
    invite = SpaceInvite(
        token=secrets.token_urlsafe(TOKEN_BYTES),
        space_id=space.id,
        role=role,
        created_by=principal.user_id,
        created_at=now,
        expires_at=now + timedelta(seconds=expires_in_s) if expires_in_s is not None else None,
        max_uses=max_uses,
        uses=0,
    )
    session.add(invite)
    await session.commit()
    return invite


async def list_invites(
    session: AsyncSession, principal: Principal, space_id: str
) -> list[SpaceInvite]:
    space = await load_space(session, space_id)
    await check_manage(session, space, principal)
    rows = await session.scalars(
        select(SpaceInvite)
        .where(SpaceInvite.space_id == space.id)
        .order_by(SpaceInvite.created_at, SpaceInvite.token)
    )
    return list(rows)


async def revoke_invite(
    session: AsyncSession, principal: Principal, space_id: str, token: str, *, now: datetime
) -> None:
    space = await load_space(session, space_id)
    caller = await check_manage(session, space, principal)
    invite = await session.get(SpaceInvite, token)
    if invite is None or invite.space_id != space.id:
        raise NotFound("this space has no such invite link", code="unknown_invite")
    if invite.role == "moderator" and caller != "owner":
        raise Forbidden("only the space's owner may revoke moderator invites")
    await session.execute(
        update(SpaceInvite)
        .where(SpaceInvite.token == token, SpaceInvite.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.commit()


async def describe_invite(session: AsyncSession, token: str, now: datetime) -> dict[str, Any]:
    """What the invite page shows: the space and role, or why the link can't be used."""
    row = (
        await session.execute(
            select(SpaceInvite, Space.name)
            .join(Space, Space.id == SpaceInvite.space_id)
            .where(SpaceInvite.token == token)
        )
    ).first()
    if row is None:
        raise NotFound("no invite link has that token", code="unknown_invite")
    invite, space_name = row
    gone = why_unusable(invite, now)
    return {
        "spaceId": invite.space_id,
        "spaceName": space_name,
        "role": invite.role,
        "expiresAt": _iso(invite.expires_at),
        "usable": gone is None,
        "reason": gone.code if gone is not None else None,
    }


async def accept_invite(
    session: AsyncSession, principal: Principal, token: str, *, now: datetime
) -> Accepted:
    counted = (
        await session.execute(
            update(SpaceInvite)
            .where(
                SpaceInvite.token == token,
                SpaceInvite.revoked_at.is_(None),
                or_(SpaceInvite.expires_at.is_(None), SpaceInvite.expires_at > now),
                or_(SpaceInvite.max_uses.is_(None), SpaceInvite.uses < SpaceInvite.max_uses),
            )
            .values(uses=SpaceInvite.uses + 1)
            .returning(SpaceInvite.space_id, SpaceInvite.role)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if counted is None:
        await session.rollback()
        invite = await session.get(SpaceInvite, token)
        if invite is None:
            raise NotFound("no invite link has that token", code="unknown_invite")
        raise why_unusable(invite, now) or InviteGone(
            "this invite link has been used up", code="invite_used_up"
        )
    space_id, role = counted
    # The use and the membership commit together.
    if not await insert_if_absent(
        session, SpaceMember, space_id=space_id, user_id=principal.user_id, role=role
    ):
        current = await session.scalar(
            select(SpaceMember.role).where(
                SpaceMember.space_id == space_id, SpaceMember.user_id == principal.user_id
            )
        )
        if current is not None and _RANK[current] < _RANK[role]:
            await session.execute(
                update(SpaceMember)
                .where(
                    SpaceMember.space_id == space_id,
                    SpaceMember.user_id == principal.user_id,
                    SpaceMember.role == current,
                )
                .values(role=role)
            )
        else:
            role = current or role
    await session.commit()
    return Accepted(space_id=space_id, role=role)
