"""ICE servers for the browser's peer connections, with fresh TURN credentials per call."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from metaverse import rtc
from metaverse.api.deps import AuthFirstRoute, Context, Participant

router = APIRouter(prefix="/rtc", route_class=AuthFirstRoute, tags=["rtc"])


@router.get("/ice-servers")
async def get_ice_servers(user: Participant, context: Context, response: Response) -> Any:
    # The credentials are personal and expire: no shared cache may keep them.
    response.headers["cache-control"] = "no-store"
    return rtc.ice_servers(context.settings, context.clock, user.user_id)
