"""The public catalogue of avatars, elements and maps."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from metaverse.api.deps import AuthFirstRoute, Session
from metaverse.api.openapi import errors
from metaverse.world import catalogue, maps

router = APIRouter(route_class=AuthFirstRoute, tags=["catalogue"])


@router.get("/avatars")
async def list_avatars(session: Session) -> Any:
    return {"avatars": [catalogue.avatar_view(a) for a in await catalogue.list_avatars(session)]}


@router.get("/elements")
async def list_elements(session: Session) -> Any:
    return {"elements": [catalogue.element_view(e) for e in await catalogue.list_elements(session)]}


@router.get("/maps")
async def list_maps(session: Session) -> Any:
    return {"maps": await maps.list_maps(session)}


@router.get("/maps/{map_id}", responses=errors(404))
async def get_map(map_id: str, session: Session) -> Any:
    return await maps.get_map(session, map_id)
