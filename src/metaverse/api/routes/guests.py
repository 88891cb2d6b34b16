"""Guests entering a space with a display name: `/space/{space_id}/guests`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from metaverse.api.deps import AuthFirstRoute, Context, Session
from metaverse.api.fields import Body, DisplayName
from metaverse.api.openapi import errors
from metaverse.api.routes.auth import client_address
from metaverse.spaces import guests

router = APIRouter(route_class=AuthFirstRoute, tags=["guests"])


class GuestBody(Body):
    display_name: DisplayName = Field(alias="displayName", min_length=1)


@router.get("/space/{space_id}/guests")
async def guest_entry(space_id: str, session: Session) -> Any:
    return await guests.guest_entry(session, space_id)


@router.post("/space/{space_id}/guests", responses=errors(403, 429))
async def create_guest(
    space_id: str, body: GuestBody, request: Request, context: Context, session: Session
) -> Any:
    # Counted like a sign-up: by address, and by the name asked for.
    context.accounts.throttle(client_address(request), f"guest:{body.display_name}")
    return await guests.create_guest(
        session, context.accounts.access_tokens, space_id, body.display_name
    )
