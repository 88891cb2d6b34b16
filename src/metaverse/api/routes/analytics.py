"""Analytics of a space for its owner and moderators: `/space/{space_id}/analytics`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from metaverse.analytics import queries
from metaverse.analytics.window import resolve_window
from metaverse.api.deps import AuthFirstRoute, Context, CurrentUser, Session

router = APIRouter(route_class=AuthFirstRoute, tags=["analytics"])


@router.get("/space/{space_id}/analytics")
async def space_analytics(
    space_id: str,
    user: CurrentUser,
    session: Session,
    context: Context,
    # Epoch milliseconds or ISO-8601 times; `from` is a Python keyword, hence the alias.
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
) -> Any:
    now_ms = round(context.clock.now() * 1000)
    window = resolve_window(from_, to, now_ms=now_ms)
    return await queries.space_analytics(session, user, space_id, window, now_ms=now_ms)
