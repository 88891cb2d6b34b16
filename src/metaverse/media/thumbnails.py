"""Map thumbnails: a PNG of the map's elements, drawn server-side with Pillow.

A cell is 32 px, scaled down so the whole map fits 640x480. Element images come from
`/assets/…` (the PNG rendered next to each demo SVG: Pillow can't draw SVG) or `/media/…`
(uploads). Anything else, external URLs included, is drawn as a neutral block of the
element's footprint: the server never fetches a URL it was given.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from PIL import Image, ImageDraw
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.assets.demo import ASSETS_URL_PREFIX, DEFAULT_FLOOR_COLOR, TILE_SIZE, asset_file
from metaverse.media.store import THUMBNAILS, MediaStore
from metaverse.media.uploads import MAX_SIDE_PX
from metaverse.world import maps
from metaverse.world.catalogue import elements_by_id

MAX_WIDTH_PX: Final = 640
MAX_HEIGHT_PX: Final = 480
PLACEHOLDER_FILL: Final = "#cfc8bb"
PLACEHOLDER_EDGE: Final = "#a59d8f"

Loader = Callable[[str], Image.Image | None]


@dataclass(frozen=True, slots=True)
class Tile:
    """One placed element: its image URL and footprint in cells."""

    image_url: str
    x: int
    y: int
    width: int
    height: int
    static: bool


def cell_px(width_cells: int, height_cells: int) -> float:
    """Pixels per cell: 32, or less so that the map fits the thumbnail's bounds."""
    return min(float(TILE_SIZE), MAX_WIDTH_PX / width_cells, MAX_HEIGHT_PX / height_cells)


def render_thumbnail(
    width_cells: int, height_cells: int, tiles: Iterable[Tile], load: Loader
) -> bytes:
    """The PNG bytes of a `width_cells` x `height_cells` map with `tiles` drawn on it.

    Walkable elements (floors, rugs) go under static ones, as in the client's renderer;
    otherwise tiles are drawn in the order given.
    """
    scale = cell_px(width_cells, height_cells)
    size = (max(1, round(width_cells * scale)), max(1, round(height_cells * scale)))
    canvas = Image.new("RGBA", size, DEFAULT_FLOOR_COLOR)
    draw = ImageDraw.Draw(canvas)
    sources: dict[str, Image.Image | None] = {}
    scaled: dict[tuple[str, int, int], Image.Image] = {}
    for tile in sorted(tiles, key=lambda t: t.static):
        left, top = round(tile.x * scale), round(tile.y * scale)
        right = max(left + 1, round((tile.x + tile.width) * scale))
        bottom = max(top + 1, round((tile.y + tile.height) * scale))
        if tile.image_url not in sources:
            sources[tile.image_url] = load(tile.image_url)
        source = sources[tile.image_url]
        if source is None:
            draw.rectangle((left, top, right - 1, bottom - 1), PLACEHOLDER_FILL, PLACEHOLDER_EDGE)
            continue
        key = (tile.image_url, right - left, bottom - top)
        if key not in scaled:
            scaled[key] = source.resize(key[1:], Image.Resampling.LANCZOS)
        canvas.alpha_composite(scaled[key], (left, top))
    out = io.BytesIO()
    canvas.convert("RGB").save(out, "PNG", optimize=True)
    return out.getvalue()


class FileLoader:
    """Element images from this server's files: demo assets and uploads, nothing else."""

    def __init__(self, store: MediaStore) -> None:
        self.store = store

    def path_of(self, url: str) -> Path | None:
        if url.startswith(ASSETS_URL_PREFIX + "/"):
            try:
                path = asset_file(url)
            except ValueError:
                return None
            return path.with_suffix(".png") if path.suffix == ".svg" else path
        return self.store.path_of(url)

    def __call__(self, url: str) -> Image.Image | None:
        path = self.path_of(url)
        if path is None or not path.is_file():
            return None
        try:
            with Image.open(path, formats=["PNG", "JPEG", "WEBP"]) as image:
                if max(image.size) > MAX_SIDE_PX:
                    return None
                return image.convert("RGBA")
        except (OSError, ValueError, Image.DecompressionBombError):
            return None


def _render_and_store(store: MediaStore, width: int, height: int, tiles: Sequence[Tile]) -> str:
    png = render_thumbnail(width, height, tiles, FileLoader(store))
    return store.save(png, "png", folder=THUMBNAILS)


async def do_map_thumbnail(session: AsyncSession, store: MediaStore, map_id: str) -> str:
    """Render the map's thumbnail, store it under `/media/thumbnails/` and record its URL."""
    map_ = await maps.load_map(session, map_id)
    placed, _areas = await maps.map_contents(session, map_id)
    catalogue = await elements_by_id(session, {p.element_id for p in placed})
    tiles = [
        Tile(e.image_url, p.x, p.y, e.width, e.height, e.static)
        for p in placed
        if (e := catalogue.get(p.element_id)) is not None
    ]
    # Decoding and resizing images takes long enough to stall every other request.
    url = await asyncio.to_thread(_render_and_store, store, map_.width, map_.height, tiles)
    await maps.set_thumbnail(session, map_id, url)
    return url
