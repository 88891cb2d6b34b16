"""Spaces and the elements placed in them (the original contract's `/space` routes).

Fixed paths (`/space/all`, `/space/element`, ...) are declared before `/space/{space_id}`
so that they are never read as a space id.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from metaverse.api.deps import AuthFirstRoute, Context, CurrentUser, Participant, Session
from metaverse.api.fields import Body, Coord, DimensionsText, Id, Name
from metaverse.protocol.control import AccessChanged, MapChanged, SpaceDeleted
from metaverse.spaces import service
from metaverse.world.geometry import parse_dimensions

router = APIRouter(route_class=AuthFirstRoute, tags=["spaces"])

Visibility = Literal["public", "private"]


class SpaceBody(Body):
    name: Name
    dimensions: DimensionsText | None = None
    map_id: Id | None = Field(None, alias="mapId")
    visibility: Visibility = "public"


class SpacePatch(Body):
    name: Name | None = None
    visibility: Visibility | None = None
    guests: bool | None = None


class PlaceBody(Body):
    element_id: Id = Field(alias="elementId")
    space_id: Id = Field(alias="spaceId")
    x: Coord
    y: Coord


class UnplaceBody(Body):
    id: Id


@router.post("")
async def create_space(body: SpaceBody, user: CurrentUser, session: Session) -> Any:
    space_id = await service.create_space(
        session,
        user,
        name=body.name,
        dimensions=parse_dimensions(body.dimensions) if body.dimensions is not None else None,
        map_id=body.map_id,
        visibility=body.visibility,
    )
    return {"spaceId": space_id}


@router.get("/all")
async def owned_spaces(user: CurrentUser, session: Session) -> Any:
    return {"spaces": await service.owned_spaces(session, user)}


@router.get("/joined")
async def joined_spaces(user: CurrentUser, session: Session) -> Any:
    return {"spaces": await service.joined_spaces(session, user)}


@router.get("/public")
async def public_spaces(_user: CurrentUser, session: Session) -> Any:
    return {"spaces": await service.public_spaces(session)}


@router.post("/element")
async def add_element(
    body: PlaceBody, user: CurrentUser, session: Session, context: Context
) -> Any:
    placed_id = await service.add_element(
        session, user, space_id=body.space_id, element_id=body.element_id, x=body.x, y=body.y
    )
    await context.announce(MapChanged(space_id=body.space_id))
    return {"id": placed_id}


@router.delete("/element")
async def delete_element(
    body: UnplaceBody, user: CurrentUser, session: Session, context: Context
) -> Any:
    space_id = await service.delete_element(session, user, body.id)
    await context.announce(MapChanged(space_id=space_id))
    return {}


@router.get("/{space_id}")
async def get_space(space_id: str, user: Participant, session: Session) -> Any:
    return await service.get_space(session, user, space_id)


@router.patch("/{space_id}")
async def update_space(
    space_id: str, body: SpacePatch, user: CurrentUser, session: Session, context: Context
) -> Any:
    space = await service.update_space(
        session, user, space_id, name=body.name, visibility=body.visibility, guests=body.guests
    )
    if body.visibility == "private" or body.guests is False:
        await context.announce(AccessChanged(space_id=space_id))
    return space


@router.delete("/{space_id}")
async def delete_space(space_id: str, user: CurrentUser, session: Session, context: Context) -> Any:
    await service.delete_space(session, user, space_id)
    await context.announce(SpaceDeleted(space_id=space_id))
    return {}
