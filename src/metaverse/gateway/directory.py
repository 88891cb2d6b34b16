"""What the gateway reads from and writes to the database: spaces, access, profiles, status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from metaverse.accounts.tokens import Principal
from metaverse.core.areas import Area
from metaverse.core.grid import Element as PlacedElement
from metaverse.core.maps import SpaceMap
from metaverse.db.models import (
    Avatar,
    ChatRoom,
    ChatRoomMember,
    Element,
    Space,
    SpaceArea,
    SpaceElement,
    SpaceMember,
    User,
)
from metaverse.spaces.access import may_enter_as
from metaverse.spaces.layout import space_layout


@dataclass(frozen=True, slots=True)
class UserProfile:
    username: str
    display_name: str | None
    avatar_url: str | None
    status: str
    status_text: str
    guest: bool = False
    disabled: bool = False
    role: str = "user"  # the account's role as stored, whatever an older token says

    def wire(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "username": self.username,
            "displayName": self.display_name,
            "avatarUrl": self.avatar_url,
        }
        if self.guest:
            fields["guest"] = True
        return fields


# What a profile is read from (users, and their avatar joined), and made into one.
_PROFILE: Final = (
    User.role,
    User.username,
    User.display_name,
    User.status,
    User.status_text,
    User.guest_space_id,
    User.disabled_at,
    Avatar.image_url,
)


def _profile_of(row: Any) -> UserProfile:  # a Row with the _PROFILE columns
    return UserProfile(
        username=row.username,
        display_name=row.display_name,
        avatar_url=row.image_url,
        status=row.status,
        status_text=row.status_text or "",
        guest=row.guest_space_id is not None,
        disabled=row.disabled_at is not None,
        role=row.role,
    )


class Directory:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def admission(
        self, space_id: str, principal: Principal
    ) -> tuple[bool | None, UserProfile | None]:
        """What a join needs, in one query: None for no such space, else whether
        `principal` may enter it; and when they may, their profile (None: no such user)."""
        user_id = principal.user_id
        query = (
            select(
                Space.id,
                Space.visibility,
                Space.owner_id,
                Space.guests,
                SpaceMember.role.label("member_role"),
                User.id.label("user_id"),
                *_PROFILE,
            )
            .select_from(Space)
            .outerjoin(
                SpaceMember,
                and_(SpaceMember.space_id == Space.id, SpaceMember.user_id == user_id),
            )
            .outerjoin(User, User.id == user_id)
            .outerjoin(Avatar, Avatar.id == User.avatar_id)
            .where(Space.id == space_id)
        )
        async with self._sessions() as session:
            row = (await session.execute(query)).first()
        if row is None:
            return None, None
        if row.user_id is not None:
            principal = principal.with_stored_role(row.role)
        if not may_enter_as(row, principal, member=row.member_role is not None):
            return False, None
        if row.user_id is None:
            return True, None
        return True, _profile_of(row)

    async def space_map(self, space_id: str) -> SpaceMap | None:
        async with self._sessions() as session:
            return await self._space_map(session, space_id)

    @staticmethod
    async def _space_map(session: AsyncSession, space_id: str) -> SpaceMap | None:
        space = await session.get(Space, space_id)
        if space is None:
            return None
        placed = await session.execute(
            select(SpaceElement.x, SpaceElement.y, Element.width, Element.height, Element.static)
            .join(Element, Element.id == SpaceElement.element_id)
            .where(SpaceElement.space_id == space_id)
        )
        areas = await session.scalars(select(SpaceArea).where(SpaceArea.space_id == space_id))
        return SpaceMap(
            width=space.width,
            height=space.height,
            elements=tuple(PlacedElement(x, y, w, h, static) for x, y, w, h, static in placed),
            areas=tuple(
                Area(a.name, a.x, a.y, a.width, a.height, a.kind)  # type: ignore[arg-type]
                for a in areas
            ),
        )

    async def may_stay(self, space_id: str, principals: list[Principal]) -> set[str] | None:
        """Which of `principals` may still be in the space (by user id); None: it is gone.
        One query however many are asked about."""
        async with self._sessions() as session:
            space = await session.get(Space, space_id)
            if space is None:
                return None
            asked = {p.user_id for p in principals}
            # Guests are told apart by their rows: a bridge's principals carry no role.
            guest_rows = await session.execute(
                select(User.id, User.guest_space_id).where(
                    User.id.in_(asked), User.guest_space_id.is_not(None)
                )
            )
            guests = {user_id: guest_space for user_id, guest_space in guest_rows}
            welcome = {
                user_id
                for user_id, guest_space in guests.items()
                if space.guests and guest_space == space_id
            }
            if space.visibility == "public":
                return {p.user_id for p in principals if p.user_id not in guests} | welcome
            members = set(
                await session.scalars(
                    select(SpaceMember.user_id).where(
                        SpaceMember.space_id == space_id, SpaceMember.user_id.in_(asked)
                    )
                )
            )
            return welcome | {
                p.user_id
                for p in principals
                if p.user_id not in guests
                and (p.is_admin or p.user_id == space.owner_id or p.user_id in members)
            }

    async def layout(self, space_id: str) -> tuple[SpaceMap, dict[str, Any]] | None:
        """The space's map for the core and its layout for clients, read together."""
        async with self._sessions() as session, session.begin():
            space_map = await self._space_map(session, space_id)
            if space_map is None:
                return None
            return space_map, await space_layout(session, space_id)

    async def profile(self, user_id: str) -> UserProfile | None:
        query = (
            select(*_PROFILE)
            .outerjoin(Avatar, Avatar.id == User.avatar_id)
            .where(User.id == user_id)
        )
        async with self._sessions() as session:
            row = (await session.execute(query)).first()
        return _profile_of(row) if row is not None else None

    async def is_member(self, space_id: str, user_id: str) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(SpaceMember.user_id).where(
                    SpaceMember.space_id == space_id, SpaceMember.user_id == user_id
                )
            )
            return found is not None

    async def room_members(self, space_id: str, room_id: str) -> list[str] | None:
        """The members of a chat room of this space; None when there is no such room."""
        async with self._sessions() as session:
            room = await session.get(ChatRoom, room_id)
            if room is None or room.space_id != space_id:
                return None
            members = await session.scalars(
                select(ChatRoomMember.user_id).where(ChatRoomMember.room_id == room_id)
            )
            return list(members)

    async def save_status(self, user_id: str, status: str, text: str) -> None:
        async with self._sessions() as session:
            await session.execute(
                update(User)
                .where(User.id == user_id)
                .values(status=status, status_text=text or None)
            )
            await session.commit()
