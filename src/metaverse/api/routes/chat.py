"""Chat rooms and history (the original system's `/chatroom` routes, plus space and direct
history)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field, StringConstraints

from metaverse.api.deps import AuthFirstRoute, Context, CurrentUser, Participant, Session
from metaverse.api.fields import Body, ChatText, Id, Name
from metaverse.api.openapi import errors
from metaverse.chat import history, reads, rooms, service

router = APIRouter(route_class=AuthFirstRoute, tags=["chat"])

Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Cursor = Annotated[str | None, Query(max_length=64)]
Limit = Annotated[int, Query(ge=1, le=history.MAX_LIMIT)]


class RoomBody(Body):
    space_id: Id = Field(alias="spaceId")
    name: Name
    description: Description | None = None
    private: bool = False


class RoomPatch(Body):
    name: Name | None = None
    description: Description | None = None
    private: bool | None = None


class InviteBody(Body):
    user_id: Id = Field(alias="userId")


class PostBody(Body):
    text: ChatText


@router.post("/chatroom")
async def create_room(body: RoomBody, user: CurrentUser, session: Session) -> Any:
    return await rooms.create_room(
        session,
        user,
        space_id=body.space_id,
        name=body.name,
        description=body.description,
        private=body.private,
    )


@router.get("/chatroom")
async def list_rooms(
    user: CurrentUser,
    session: Session,
    space_id: Annotated[str, Query(alias="spaceId", max_length=64)],
) -> Any:
    return {"rooms": await rooms.list_rooms(session, user, space_id)}


@router.get("/chatroom/{room_id}", responses=errors(404))
async def get_room(room_id: str, user: CurrentUser, session: Session) -> Any:
    return await rooms.get_room(session, user, room_id)


@router.patch("/chatroom/{room_id}", responses=errors(404))
async def update_room(room_id: str, body: RoomPatch, user: CurrentUser, session: Session) -> Any:
    changes = {
        name: getattr(body, name)
        for name in ("name", "description", "private")
        if name in body.model_fields_set
        and (name == "description" or getattr(body, name) is not None)
    }
    return await rooms.update_room(session, user, room_id, **changes)


@router.delete("/chatroom/{room_id}", responses=errors(404))
async def delete_room(room_id: str, user: CurrentUser, session: Session) -> Any:
    await rooms.delete_room(session, user, room_id)
    return {}


@router.post("/chatroom/{room_id}/join", responses=errors(404))
async def join_room(room_id: str, user: CurrentUser, session: Session) -> Any:
    await rooms.join_room(session, user, room_id)
    return {}


@router.post("/chatroom/{room_id}/leave", responses=errors(404))
async def leave_room(room_id: str, user: CurrentUser, session: Session) -> Any:
    await rooms.leave_room(session, user, room_id)
    return {}


@router.post("/chatroom/{room_id}/members", responses=errors(404))
async def invite(room_id: str, body: InviteBody, user: CurrentUser, session: Session) -> Any:
    await rooms.invite(session, user, room_id, body.user_id)
    return {}


@router.get("/chatroom/{room_id}/members", responses=errors(404))
async def list_members(room_id: str, user: CurrentUser, session: Session) -> Any:
    return {"members": await rooms.list_members(session, user, room_id)}


@router.get("/chatroom/{room_id}/messages", responses=errors(404))
async def room_messages(
    room_id: str, user: CurrentUser, session: Session, before: Cursor = None, limit: Limit = 50
) -> Any:
    return await service.room_history(session, user, room_id, before=before, limit=limit)


@router.post("/chatroom/{room_id}/messages", responses=errors(404, 503))
async def post_message(
    room_id: str, body: PostBody, user: CurrentUser, session: Session, context: Context
) -> Any:
    return await service.post_to_room(
        session, context.chat, context.clock, user, room_id, body.text
    )


@router.delete("/chatroom/{room_id}/messages/{message_id}", responses=errors(404))
async def delete_message(
    room_id: str, message_id: str, user: CurrentUser, session: Session, context: Context
) -> Any:
    await service.delete_message(session, context.chat, context.clock, user, room_id, message_id)
    return {}


@router.get("/space/{space_id}/messages")
async def space_messages(
    space_id: str,
    user: Participant,
    session: Session,
    area: Annotated[str | None, Query(max_length=64)] = None,
    before: Cursor = None,
    limit: Limit = 50,
) -> Any:
    return await service.space_history(
        session, user, space_id, area=area, before=before, limit=limit
    )


@router.get("/dm/{user_id}/messages")
async def direct_messages(
    user_id: str, user: Participant, session: Session, before: Cursor = None, limit: Limit = 50
) -> Any:
    return await service.direct_history(session, user, user_id, before=before, limit=limit)


class ReadBody(Body):
    message_id: Id = Field(alias="messageId")


@router.put("/chat/read", responses=errors(404))
async def mark_read(body: ReadBody, user: Participant, session: Session, context: Context) -> Any:
    now = datetime.fromtimestamp(context.clock.now(), UTC)
    return await reads.do_mark_read(session, user, body.message_id, now=now)


@router.get("/chat/read")
async def list_reads(
    user: Participant,
    session: Session,
    space_id: Annotated[str, Query(alias="spaceId", max_length=64)],
) -> Any:
    return await reads.list_unread(session, user, space_id)
