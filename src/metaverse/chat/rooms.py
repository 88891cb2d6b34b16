"""Chat rooms of a space: public ones anyone in the space may join, private ones by
invitation of their owner."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.accounts.tokens import Principal
from metaverse.db.atomic import insert_if_absent, parent_must_exist
from metaverse.db.ids import new_id
from metaverse.db.models import ChatRoom, ChatRoomMember, Space, User
from metaverse.errors import Forbidden, NotFound, UnknownId
from metaverse.spaces.access import check_enter, load_space

UNSET: Any = object()


def room_view(room: ChatRoom, *, member: bool) -> dict[str, Any]:
    return {
        "id": room.id,
        "spaceId": room.space_id,
        "name": room.name,
        "description": room.description,
        "private": room.private,
        "ownerId": room.owner_id,
        "createdAt": room.created_at.isoformat(),
        "member": member,
    }


async def is_room_member(session: AsyncSession, room_id: str, user_id: str) -> bool:
    found = await session.get(ChatRoomMember, (room_id, user_id))
    return found is not None


async def load_room(session: AsyncSession, principal: Principal, room_id: str) -> ChatRoom:
    """A room the caller may see: its space is open to them, and it is public or theirs."""
    room = await session.get(ChatRoom, room_id)
    if room is None:
        raise _no_room()
    await check_enter(session, await load_space(session, room.space_id), principal)
    if room.private and not await is_room_member(session, room.id, principal.user_id):
        raise _no_room()  # private rooms are invisible to others
    return room


def _no_room() -> NotFound:
    return NotFound("no chat room has that id")


def check_owner(room: ChatRoom, principal: Principal) -> None:
    if room.owner_id != principal.user_id:
        raise Forbidden("only the room's owner may do this")


async def create_room(
    session: AsyncSession,
    principal: Principal,
    *,
    space_id: str,
    name: str,
    description: str | None,
    private: bool,
) -> dict[str, Any]:
    space = await load_space(session, space_id)
    await check_enter(session, space, principal)
    room = ChatRoom(
        id=new_id(),
        space_id=space.id,
        name=name,
        description=description,
        private=private,
        owner_id=principal.user_id,
    )
    async with parent_must_exist(session, Space, space.id, UnknownId("no space has that id")):
        session.add(room)
        await session.flush()
        session.add(ChatRoomMember(room_id=room.id, user_id=principal.user_id))
        await session.commit()
    return room_view(room, member=True)


async def list_rooms(
    session: AsyncSession, principal: Principal, space_id: str
) -> list[dict[str, Any]]:
    space = await load_space(session, space_id)
    await check_enter(session, space, principal)
    mine = select(ChatRoomMember.room_id).where(ChatRoomMember.user_id == principal.user_id)
    rows = await session.execute(
        select(ChatRoom, ChatRoom.id.in_(mine))
        .where(
            ChatRoom.space_id == space.id, or_(ChatRoom.private.is_(False), ChatRoom.id.in_(mine))
        )
        .order_by(ChatRoom.created_at, ChatRoom.id)
    )
    return [room_view(room, member=bool(member)) for room, member in rows]


async def get_room(session: AsyncSession, principal: Principal, room_id: str) -> dict[str, Any]:
    room = await load_room(session, principal, room_id)
    return room_view(room, member=await is_room_member(session, room.id, principal.user_id))


async def update_room(
    session: AsyncSession,
    principal: Principal,
    room_id: str,
    *,
    name: str = UNSET,
    description: str | None = UNSET,
    private: bool = UNSET,
) -> dict[str, Any]:
    room = await load_room(session, principal, room_id)
    check_owner(room, principal)
    changes = {"name": name, "description": description, "private": private}
    changes = {field: value for field, value in changes.items() if value is not UNSET}
    if changes:
        # Conditional on the row still being there: a room deleted meanwhile is not found.
        updated = await session.scalar(
            update(ChatRoom).where(ChatRoom.id == room.id).values(changes).returning(ChatRoom.id)
        )
        if updated is None:
            raise _no_room()
        await session.commit()
    return room_view(room, member=True)


async def delete_room(session: AsyncSession, principal: Principal, room_id: str) -> None:
    room = await load_room(session, principal, room_id)
    check_owner(room, principal)
    # Members and messages go with it (ON DELETE CASCADE). Of concurrent deletions one
    # finds the row; the others are told it does not exist, as they would be after.
    deleted = await session.scalar(
        delete(ChatRoom)
        .where(ChatRoom.id == room.id, ChatRoom.owner_id == principal.user_id)
        .returning(ChatRoom.id)
    )
    if deleted is None:
        raise _no_room()
    await session.commit()


async def join_room(session: AsyncSession, principal: Principal, room_id: str) -> None:
    room = await load_room(session, principal, room_id)
    if await is_room_member(session, room.id, principal.user_id):
        return
    if room.private:  # pragma: no cover - load_room hides private rooms from non-members
        raise Forbidden("private rooms are joined by invitation")
    await _add_member(session, room.id, principal.user_id)


async def leave_room(session: AsyncSession, principal: Principal, room_id: str) -> None:
    room = await load_room(session, principal, room_id)
    if room.owner_id == principal.user_id:
        raise Forbidden("the owner cannot leave their room; delete it instead")
    await session.execute(
        delete(ChatRoomMember).where(
            ChatRoomMember.room_id == room.id, ChatRoomMember.user_id == principal.user_id
        )
    )
    await session.commit()


async def invite(session: AsyncSession, principal: Principal, room_id: str, user_id: str) -> None:
    room = await load_room(session, principal, room_id)
    check_owner(room, principal)
    if await session.get(User, user_id) is None:
        raise UnknownId("no user has that id")
    await _add_member(session, room.id, user_id)


async def _add_member(session: AsyncSession, room_id: str, user_id: str) -> None:
    """Make `user_id` a member; already being one (a concurrent request, say) is fine."""
    async with parent_must_exist(session, ChatRoom, room_id, _no_room()):
        if await insert_if_absent(session, ChatRoomMember, room_id=room_id, user_id=user_id):
            await session.commit()


async def list_members(
    session: AsyncSession, principal: Principal, room_id: str
) -> list[dict[str, Any]]:
    room = await load_room(session, principal, room_id)
    rows = await session.execute(
        select(User.id, User.username, User.display_name)
        .join(ChatRoomMember, ChatRoomMember.user_id == User.id)
        .where(ChatRoomMember.room_id == room.id)
        .order_by(ChatRoomMember.created_at, User.username)
    )
    return [
        {"userId": user_id, "username": username, "displayName": display_name}
        for user_id, username, display_name in rows
    ]
