"""Maps: templates of a space's size, elements and areas, made by admins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.db.ids import new_id
from metaverse.db.models import Map, MapArea, MapElement
from metaverse.errors import InvalidInput, NotFound, UnknownId
from metaverse.world.catalogue import elements_by_id, placed_views
from metaverse.world.geometry import Dimensions, format_dimensions


@dataclass(frozen=True, slots=True)
class Placement:
    element_id: str
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class AreaSpec:
    name: str
    x: int
    y: int
    width: int
    height: int
    kind: str


def area_view(area: MapArea | Any) -> dict[str, Any]:
    return {
        "name": area.name,
        "x": area.x,
        "y": area.y,
        "width": area.width,
        "height": area.height,
        "kind": area.kind,
    }


def check_areas(dimensions: Dimensions, areas: Sequence[AreaSpec]) -> None:
    for index, area in enumerate(areas):
        if not dimensions.contains_rect(area.x, area.y, area.width, area.height):
            raise InvalidInput(
                f"area {index} ({area.name!r}) is not inside the {dimensions} map",
                code="area_out_of_bounds",
            )


async def check_placements(
    session: AsyncSession, dimensions: Dimensions, placements: Sequence[Placement]
) -> None:
    known = await elements_by_id(session, {p.element_id for p in placements})
    for index, placement in enumerate(placements):
        if placement.element_id not in known:
            raise UnknownId(f"element {index} refers to an unknown element id")
        if not dimensions.contains(placement.x, placement.y):
            raise InvalidInput(
                f"element {index} at ({placement.x}, {placement.y}) is outside the map",
                code="out_of_bounds",
            )


async def create_map(
    session: AsyncSession,
    *,
    name: str,
    thumbnail: str | None,
    dimensions: Dimensions,
    placements: Sequence[Placement],
    areas: Sequence[AreaSpec],
) -> str:
    await check_placements(session, dimensions, placements)
    check_areas(dimensions, areas)
    map_ = Map(
        id=new_id(),
        name=name,
        thumbnail=thumbnail,
        width=dimensions.width,
        height=dimensions.height,
    )
    session.add(map_)
    await session.flush()
    session.add_all(
        MapElement(id=new_id(), map_id=map_.id, element_id=p.element_id, x=p.x, y=p.y)
        for p in placements
    )
    session.add_all(
        MapArea(
            id=new_id(),
            map_id=map_.id,
            name=a.name,
            x=a.x,
            y=a.y,
            width=a.width,
            height=a.height,
            kind=a.kind,
        )
        for a in areas
    )
    await session.commit()
    return map_.id


def map_summary(map_: Map) -> dict[str, Any]:
    return {
        "id": map_.id,
        "name": map_.name,
        "thumbnail": map_.thumbnail,
        "dimensions": format_dimensions(map_.width, map_.height),
    }


async def list_maps(session: AsyncSession) -> list[dict[str, Any]]:
    maps = await session.scalars(select(Map).order_by(Map.created_at, Map.id))
    return [map_summary(map_) for map_ in maps]


async def map_contents(
    session: AsyncSession, map_id: str
) -> tuple[list[MapElement], list[MapArea]]:
    elements = await session.scalars(
        select(MapElement).where(MapElement.map_id == map_id).order_by(MapElement.id)
    )
    areas = await session.scalars(
        select(MapArea).where(MapArea.map_id == map_id).order_by(MapArea.id)
    )
    return list(elements), list(areas)


async def load_map(session: AsyncSession, map_id: str) -> Map:
    map_ = await session.get(Map, map_id)
    if map_ is None:
        raise NotFound("no map has that id")
    return map_


async def set_thumbnail(session: AsyncSession, map_id: str, thumbnail: str) -> None:
    map_ = await load_map(session, map_id)
    map_.thumbnail = thumbnail
    await session.commit()


async def get_map(session: AsyncSession, map_id: str) -> dict[str, Any]:
    map_ = await load_map(session, map_id)
    placed, areas = await map_contents(session, map_id)
    return {
        **map_summary(map_),
        "elements": await placed_views(session, placed),
        "areas": [area_view(area) for area in areas],
    }
