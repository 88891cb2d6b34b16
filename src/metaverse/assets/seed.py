"""Seed the demo avatars, elements and map once per installation.

A marker in `platform_meta` records that seeding happened, so an operator who deletes the
demo content does not see it come back on the next start.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from metaverse.assets.demo import DEMO_AVATARS, DEMO_ELEMENTS, DEMO_MAP
from metaverse.db.ids import new_id
from metaverse.db.models import Avatar, Element, Map, MapArea, MapElement, PlatformMeta

SEEDED_KEY = "demo_seeded"


async def seed_demo(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Insert the demo set unless it was seeded before. True when it seeded now."""
    async with sessions() as session:
        if await session.get(PlatformMeta, SEEDED_KEY) is not None:
            return False
        # The marker goes in the same transaction: two processes starting together
        # collide on its primary key and only one set is kept.
        session.add(PlatformMeta(key=SEEDED_KEY, value="1"))
        session.add_all(
            Avatar(id=new_id(), name=avatar.name, image_url=avatar.image) for avatar in DEMO_AVATARS
        )
        element_ids: dict[str, str] = {}
        for element in DEMO_ELEMENTS:
            element_ids[element.key] = new_id()
            session.add(
                Element(
                    id=element_ids[element.key],
                    name=element.name,
                    image_url=element.image,
                    width=element.width,
                    height=element.height,
                    static=element.static,
                )
            )
        map_id = new_id()
        session.add(
            Map(
                id=map_id,
                name=DEMO_MAP.name,
                thumbnail=DEMO_MAP.thumbnail,
                width=DEMO_MAP.width,
                height=DEMO_MAP.height,
            )
        )
        await session.flush()
        session.add_all(
            MapElement(id=new_id(), map_id=map_id, element_id=element_ids[p.element], x=p.x, y=p.y)
            for p in DEMO_MAP.elements
        )
        session.add_all(
            MapArea(
                id=new_id(),
                map_id=map_id,
                name=area.name,
                x=area.x,
                y=area.y,
                width=area.width,
                height=area.height,
                kind=area.kind,
            )
            for area in DEMO_MAP.areas
        )
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            return False
        return True
