"""Avatars and elements: the catalogue admins curate and everyone draws from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.db.ids import new_id
from metaverse.db.models import Avatar, Element
from metaverse.errors import UnknownId


def element_view(element: Element) -> dict[str, Any]:
    """The contract's element shape, plus `name` when the element has one."""
    view: dict[str, Any] = {
        "id": element.id,
        "imageUrl": element.image_url,
        "width": element.width,
        "height": element.height,
        "static": element.static,
    }
    if element.name is not None:
        view["name"] = element.name
    return view


def avatar_view(avatar: Avatar) -> dict[str, Any]:
    return {"id": avatar.id, "imageUrl": avatar.image_url, "name": avatar.name}


async def list_avatars(session: AsyncSession) -> list[Avatar]:
    return list(await session.scalars(select(Avatar).order_by(Avatar.created_at, Avatar.id)))


async def create_avatar(session: AsyncSession, *, name: str, image_url: str) -> str:
    avatar = Avatar(id=new_id(), name=name, image_url=image_url)
    session.add(avatar)
    await session.commit()
    return avatar.id


async def list_elements(session: AsyncSession) -> list[Element]:
    return list(await session.scalars(select(Element).order_by(Element.created_at, Element.id)))


async def create_element(
    session: AsyncSession,
    *,
    image_url: str,
    width: int,
    height: int,
    static: bool,
    name: str | None = None,
) -> str:
    element = Element(
        id=new_id(), image_url=image_url, width=width, height=height, static=static, name=name
    )
    session.add(element)
    await session.commit()
    return element.id


async def update_element(session: AsyncSession, element_id: str, *, image_url: str) -> None:
    element = await session.get(Element, element_id)
    if element is None:
        raise UnknownId("no element has that id")
    element.image_url = image_url
    await session.commit()


async def elements_by_id(session: AsyncSession, ids: set[str]) -> dict[str, Element]:
    if not ids:
        return {}
    rows = await session.scalars(select(Element).where(Element.id.in_(ids)))
    return {element.id: element for element in rows}


async def placed_views(session: AsyncSession, placed: Sequence[Any]) -> list[dict[str, Any]]:
    """Placed elements (of a map or a space) as `{id, element: {...}, x, y}`."""
    catalogue = await elements_by_id(session, {p.element_id for p in placed})
    return [
        {"id": p.id, "element": element_view(catalogue[p.element_id]), "x": p.x, "y": p.y}
        for p in placed
    ]
