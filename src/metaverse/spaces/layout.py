"""A space's layout as clients draw it: its placed elements and its areas."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.db.models import SpaceArea, SpaceElement
from metaverse.world.catalogue import placed_views
from metaverse.world.maps import area_view


async def space_layout(session: AsyncSession, space_id: str) -> dict[str, Any]:
    """`{elements, areas}` as `GET /space/{id}` and the `map-changed` frame give them."""
    placed = list(
        await session.scalars(
            select(SpaceElement).where(SpaceElement.space_id == space_id).order_by(SpaceElement.id)
        )
    )
    areas = await session.scalars(
        select(SpaceArea).where(SpaceArea.space_id == space_id).order_by(SpaceArea.id)
    )
    return {
        "elements": await placed_views(session, placed),
        "areas": [area_view(area) for area in areas],
    }
