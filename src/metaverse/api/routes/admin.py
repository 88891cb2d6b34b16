"""Admin-only curation of avatars, elements and maps. Every route here needs an admin token,
checked before the body is read."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from metaverse.api.deps import AdminUser, AuthFirstRoute, Session
from metaverse.api.fields import Body, Coord, DimensionsText, Id, ImageUrl, Name, Size
from metaverse.api.routes.media import Media
from metaverse.media.thumbnails import do_map_thumbnail
from metaverse.world import catalogue, maps
from metaverse.world.geometry import parse_dimensions

router = APIRouter(prefix="/admin", route_class=AuthFirstRoute, tags=["admin"])

MAX_MAP_ELEMENTS = 10_000
MAX_MAP_AREAS = 200


class ElementBody(Body):
    image_url: ImageUrl = Field(alias="imageUrl")
    width: Size
    height: Size
    static: bool
    name: Name | None = None


class ElementPatch(Body):
    image_url: ImageUrl = Field(alias="imageUrl")


class AvatarBody(Body):
    image_url: ImageUrl = Field(alias="imageUrl")
    name: Name


class PlacementBody(Body):
    element_id: Id = Field(alias="elementId")
    x: Coord
    y: Coord


class AreaBody(Body):
    name: Name
    x: Coord
    y: Coord
    width: Size
    height: Size
    kind: Literal["room", "private", "silent", "spawn"]


class MapBody(Body):
    # "": render one from the map's elements.
    thumbnail: ImageUrl | Literal[""] | None = None
    dimensions: DimensionsText
    name: Name
    default_elements: list[PlacementBody] = Field(
        default_factory=list, alias="defaultElements", max_length=MAX_MAP_ELEMENTS
    )
    areas: list[AreaBody] = Field(default_factory=list, max_length=MAX_MAP_AREAS)


@router.post("/element")
async def create_element(body: ElementBody, _admin: AdminUser, session: Session) -> Any:
    element_id = await catalogue.create_element(
        session,
        image_url=body.image_url,
        width=body.width,
        height=body.height,
        static=body.static,
        name=body.name,
    )
    return {"id": element_id}


@router.put("/element/{element_id}")
async def update_element(
    element_id: str, body: ElementPatch, _admin: AdminUser, session: Session
) -> Any:
    await catalogue.update_element(session, element_id, image_url=body.image_url)
    return {}


@router.post("/avatar")
async def create_avatar(body: AvatarBody, _admin: AdminUser, session: Session) -> Any:
    avatar_id = await catalogue.create_avatar(session, name=body.name, image_url=body.image_url)
    return {"avatarId": avatar_id}


@router.post("/map")
async def create_map(body: MapBody, _admin: AdminUser, session: Session, store: Media) -> Any:
    map_id = await maps.create_map(
        session,
        name=body.name,
        thumbnail=body.thumbnail or None,
        dimensions=parse_dimensions(body.dimensions),
        placements=[maps.Placement(p.element_id, p.x, p.y) for p in body.default_elements],
        areas=[maps.AreaSpec(a.name, a.x, a.y, a.width, a.height, a.kind) for a in body.areas],
    )
    if body.thumbnail == "":
        await do_map_thumbnail(session, store, map_id)
    return {"id": map_id}
