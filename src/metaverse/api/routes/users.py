"""The caller's profile, and the public avatar look-up other clients use to draw people."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field, StringConstraints

from metaverse.accounts import profiles
from metaverse.api.deps import AuthFirstRoute, Context, CurrentUser, Participant, Session
from metaverse.api.fields import Body, DisplayName, Id
from metaverse.errors import Forbidden, InvalidInput
from metaverse.protocol.control import ProfileChanged

router = APIRouter(route_class=AuthFirstRoute, tags=["users"])

MAX_BULK_IDS = 200
# `[id,id,...]` of 200 ids fits; and even percent-encoded as 4-byte UTF-8 (12 bytes a
# character) the longest `ids` fits the HTTP server's 64 KiB request target.
MAX_BULK_IDS_CHARS = 5_450


class MetadataBody(Body):
    avatar_id: Id = Field(alias="avatarId")


class ProfilePatch(Body):
    display_name: DisplayName | None = Field(None, alias="displayName")
    status_text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=140)] | None = (
        Field(None, alias="statusText")
    )
    avatar_id: Id | None = Field(None, alias="avatarId")
    status: Literal["available", "busy", "away", "dnd"] | None = None


def parse_id_list(text: str) -> list[str]:
    """`[a,b]`, tolerating quotes and spaces: `["a", 'b' ]`."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    ids = [part.strip().strip("\"'").strip() for part in text.split(",")]
    ids = [user_id for user_id in ids if user_id]
    if len(ids) > MAX_BULK_IDS:
        raise InvalidInput(f"ask for at most {MAX_BULK_IDS} ids at once")
    return ids


@router.post("/user/metadata")
async def set_metadata(
    body: MetadataBody, user: CurrentUser, session: Session, context: Context
) -> Any:
    await profiles.set_avatar(session, user, body.avatar_id)
    await context.announce(ProfileChanged(user_id=user.user_id))
    return {}


@router.get("/user/metadata/bulk")
async def bulk_metadata(
    session: Session, ids: Annotated[str, Query(max_length=MAX_BULK_IDS_CHARS)] = "[]"
) -> Any:
    return {"avatars": await profiles.bulk_avatars(session, parse_id_list(ids))}


@router.get("/user/me")
async def get_me(user: Participant, session: Session) -> Any:
    return await profiles.get_me(session, user)


@router.patch("/user/me")
async def update_me(
    body: ProfilePatch, user: Participant, session: Session, context: Context
) -> Any:
    changes = {
        name: getattr(body, name)
        for name in ("display_name", "status_text", "avatar_id", "status")
        if name in body.model_fields_set
    }
    if user.is_guest and set(changes) - {"display_name"}:
        raise Forbidden("a guest may change only their display name", code="guest_forbidden")
    if changes.get("status", "") is None:
        raise InvalidInput("status cannot be null")
    me = await profiles.update_me(session, user, **changes)
    if changes:
        await context.announce(ProfileChanged(user_id=user.user_id))
    return me
