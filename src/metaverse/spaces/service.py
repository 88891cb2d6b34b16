"""Creating, reading, changing and deleting spaces and the elements placed in them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.accounts.tokens import Principal
from metaverse.db.atomic import parent_must_exist
from metaverse.db.ids import new_id
from metaverse.db.models import Map, Space, SpaceArea, SpaceElement, SpaceMember
from metaverse.errors import InvalidInput, UnknownId
from metaverse.spaces.access import check_enter, check_manage, check_owner, load_space
from metaverse.world.catalogue import elements_by_id, placed_views
from metaverse.world.geometry import Dimensions, format_dimensions
from metaverse.world.maps import area_view, map_contents


def space_summary(space: Space) -> dict[str, Any]:
    return {
        "id": space.id,
        "name": space.name,
        "thumbnail": space.thumbnail,
        "dimensions": format_dimensions(space.width, space.height),
        "visibility": space.visibility,
        "guests": space.guests,
    }


async def create_space(
    session: AsyncSession,
    principal: Principal,
    *,
    name: str,
    dimensions: Dimensions | None,
    map_id: str | None,
    visibility: str,
) -> str:
    if map_id is None and dimensions is None:
        raise InvalidInput("give either dimensions or a mapId", code="dimensions_or_map")
    map_ = None
    if map_id is not None:
        map_ = await session.get(Map, map_id)
        if map_ is None:
            raise UnknownId("no map has that id")
        # A space made from a map takes the map's size: its elements were laid out for it.
        dimensions = Dimensions(map_.width, map_.height)
    assert dimensions is not None
    space = Space(
        id=new_id(),
        name=name,
        owner_id=principal.user_id,
        map_id=map_id,
        width=dimensions.width,
        height=dimensions.height,
        thumbnail=map_.thumbnail if map_ is not None else None,
        visibility=visibility,
    )
    session.add(space)
    await session.flush()
    session.add(SpaceMember(space_id=space.id, user_id=principal.user_id, role="owner"))
    if map_ is not None:
        placed, areas = await map_contents(session, map_.id)
        session.add_all(
            SpaceElement(id=new_id(), space_id=space.id, element_id=p.element_id, x=p.x, y=p.y)
            for p in placed
        )
        session.add_all(
            SpaceArea(id=new_id(), space_id=space.id, **area_view(area)) for area in areas
        )
    await session.commit()
    return space.id


async def delete_space(session: AsyncSession, principal: Principal, space_id: str) -> None:
    space = await load_space(session, space_id)
    check_owner(space, principal)
    # Elements, areas and members go with it through ON DELETE CASCADE. Of concurrent
    # deletions one finds the row; the others are told it is unknown, as they would be after.
    deleted = await session.scalar(
        delete(Space)
        .where(Space.id == space.id, Space.owner_id == principal.user_id)
        .returning(Space.id)
    )
    if deleted is None:
        raise UnknownId("no space has that id")
    await session.commit()


async def update_space(
    session: AsyncSession,
    principal: Principal,
    space_id: str,
    *,
    name: str | None,
    visibility: str | None,
    guests: bool | None = None,
) -> dict[str, Any]:
    space = await load_space(session, space_id)
    check_owner(space, principal)
    changes = {"name": name, "visibility": visibility, "guests": guests}
    changes = {field: value for field, value in changes.items() if value is not None}
    if changes:
        # Conditional on the row still being there: a space deleted meanwhile is unknown.
        updated = await session.scalar(
            update(Space).where(Space.id == space.id).values(changes).returning(Space.id)
        )
        if updated is None:
            raise UnknownId("no space has that id")
        await session.commit()
    return space_summary(space)


async def owned_spaces(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(Space).where(Space.owner_id == principal.user_id).order_by(Space.created_at)
    )
    return [space_summary(space) for space in rows]


async def joined_spaces(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Space, SpaceMember.role)
        .join(SpaceMember, SpaceMember.space_id == Space.id)
        .where(SpaceMember.user_id == principal.user_id)
        .order_by(Space.created_at)
    )
    return [{**space_summary(space), "role": role} for space, role in rows]


async def public_spaces(session: AsyncSession, *, limit: int = 200) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(Space)
        .where(Space.visibility == "public")
        .order_by(Space.created_at.desc())
        .limit(limit)
    )
    return [space_summary(space) for space in rows]


async def get_space(session: AsyncSession, principal: Principal, space_id: str) -> dict[str, Any]:
    space = await load_space(session, space_id)
    await check_enter(session, space, principal)
    placed = list(
        await session.scalars(
            select(SpaceElement).where(SpaceElement.space_id == space.id).order_by(SpaceElement.id)
        )
    )
    areas = await session.scalars(
        select(SpaceArea).where(SpaceArea.space_id == space.id).order_by(SpaceArea.id)
    )
    return {
        **space_summary(space),
        "mapId": space.map_id,
        "ownerId": space.owner_id,
        "elements": await placed_views(session, placed),
        "areas": [area_view(area) for area in areas],
    }


async def add_element(
    session: AsyncSession, principal: Principal, *, space_id: str, element_id: str, x: int, y: int
) -> str:
    space = await load_space(session, space_id)
    await check_manage(session, space, principal)
    if not (await elements_by_id(session, {element_id})):
        raise UnknownId("no element has that id")
    if not Dimensions(space.width, space.height).contains(x, y):
        raise InvalidInput(
            f"({x}, {y}) is outside the {space.width}x{space.height} space", code="out_of_bounds"
        )
    placed = SpaceElement(id=new_id(), space_id=space.id, element_id=element_id, x=x, y=y)
    async with parent_must_exist(session, Space, space.id, UnknownId("no space has that id")):
        session.add(placed)
        await session.commit()
    return placed.id


async def delete_element(session: AsyncSession, principal: Principal, placed_id: str) -> str:
    """Remove a placed element; returns the id of the space it was in."""
    placed = await session.get(SpaceElement, placed_id)
    if placed is None:
        raise UnknownId("no placed element has that id")
    space = await load_space(session, placed.space_id)
    await check_manage(session, space, principal)
    # Of concurrent deletions one removes the row; the others find no such element.
    deleted = await session.scalar(
        delete(SpaceElement).where(SpaceElement.id == placed.id).returning(SpaceElement.id)
    )
    if deleted is None:
        raise UnknownId("no placed element has that id")
    await session.commit()
    return space.id
