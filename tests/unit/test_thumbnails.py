"""Map thumbnails drawn with Pillow, and where their element images come from."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from metaverse.assets.demo import (
    DEFAULT_FLOOR_COLOR,
    DEMO_AVATARS,
    DEMO_ELEMENTS,
    DEMO_MAP,
    TILE_SIZE,
    asset_file,
    element_index,
)
from metaverse.media.store import MediaStore
from metaverse.media.thumbnails import (
    PLACEHOLDER_FILL,
    FileLoader,
    Tile,
    cell_px,
    render_thumbnail,
)

RED = (255, 0, 0, 255)
BLUE = (0, 0, 255, 255)


def solid(color: tuple[int, int, int, int], size: tuple[int, int] = (32, 32)) -> Image.Image:
    return Image.new("RGBA", size, color)


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGB")


def rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def test_small_maps_keep_32_pixels_a_cell() -> None:
    image = decode(render_thumbnail(10, 5, [], lambda _url: None))
    assert image.size == (320, 160)
    assert image.getpixel((5, 5)) == rgb(DEFAULT_FLOOR_COLOR)


@pytest.mark.parametrize(
    ("width", "height", "size"),
    [(40, 30, (640, 480)), (100, 10, (640, 64)), (10, 100, (48, 480)), (9999, 9999, (480, 480))],
)
def test_large_maps_are_scaled_to_fit_640_by_480(
    width: int, height: int, size: tuple[int, int]
) -> None:
    assert decode(render_thumbnail(width, height, [], lambda _url: None)).size == size
    assert cell_px(width, height) <= TILE_SIZE


def test_elements_are_drawn_at_their_footprint_statics_over_floors() -> None:
    images = {"/media/red.png": solid(RED), "/media/blue.png": solid(BLUE, (64, 32))}
    tiles = [
        Tile("/media/blue.png", 1, 1, 2, 1, static=True),  # listed first, drawn last
        Tile("/media/red.png", 0, 0, 3, 3, static=False),
    ]
    image = decode(render_thumbnail(4, 4, tiles, images.get))
    assert image.getpixel((10, 10)) == RED[:3]  # floor only
    assert image.getpixel((40, 40)) == BLUE[:3]  # desk over the floor
    assert image.getpixel((90, 40)) == BLUE[:3]  # its second cell
    assert image.getpixel((100, 100)) == rgb(DEFAULT_FLOOR_COLOR)  # outside both


def test_unloadable_images_become_neutral_blocks() -> None:
    tiles = [Tile("https://example.com/desk.png", 1, 1, 2, 1, static=True)]
    requested: list[str] = []

    def load(url: str) -> Image.Image | None:
        requested.append(url)
        return None

    image = decode(render_thumbnail(4, 4, tiles, load))
    assert image.getpixel((48, 48)) == rgb(PLACEHOLDER_FILL)
    assert image.getpixel((10, 10)) == rgb(DEFAULT_FLOOR_COLOR)
    assert requested == ["https://example.com/desk.png"]


def test_each_image_is_loaded_once_however_often_it_is_placed() -> None:
    calls: list[str] = []

    def load(url: str) -> Image.Image | None:
        calls.append(url)
        return solid(RED)

    tiles = [Tile("/media/a.png", x, 0, 1, 1, static=True) for x in range(20)]
    render_thumbnail(20, 1, tiles, load)
    assert calls == ["/media/a.png"]


def test_every_demo_svg_has_a_png_of_its_size() -> None:
    for element in DEMO_ELEMENTS:
        with Image.open(asset_file(element.image).with_suffix(".png")) as png:
            assert png.size == (element.width * TILE_SIZE, element.height * TILE_SIZE)
            assert png.mode == "RGBA"
    for avatar in DEMO_AVATARS:
        with Image.open(asset_file(avatar.image).with_suffix(".png")) as png:
            assert png.size == (32, 48)


def test_file_loader_reads_assets_and_media_and_nothing_else(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    url = store.save(b"not used", "png")
    solid(BLUE).save(store.path_of(url))  # type: ignore[arg-type]
    load = FileLoader(store)
    desk = load("/assets/elements/desk.svg")
    assert desk is not None and desk.size == (64, 32)
    uploaded = load(url)
    assert uploaded is not None and uploaded.getpixel((0, 0)) == BLUE
    for other in (
        "https://example.com/desk.png",
        "/assets/../settings.py",
        "/assets/elements/nope.svg",
        "/media/../metaverse.db",
        "/media/missing.png",
        "//evil.example/x.png",
    ):
        assert load(other) is None, other


def test_file_loader_skips_damaged_files(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    url = store.save(b"\x89PNG\r\n\x1a\n garbage", "png")
    assert FileLoader(store)(url) is None


def test_the_demo_office_renders_like_the_browser_draws_it() -> None:
    index = element_index()
    tiles = [
        Tile(
            index[p.element].image,
            p.x,
            p.y,
            index[p.element].width,
            index[p.element].height,
            index[p.element].static,
        )
        for p in DEMO_MAP.elements
    ]
    store = MediaStore(Path("/nonexistent"))
    image = decode(render_thumbnail(DEMO_MAP.width, DEMO_MAP.height, tiles, FileLoader(store)))
    assert image.size == (640, 480)
    # No element of the demo falls back to a placeholder block.
    colors = {color for _count, color in image.getcolors(maxcolors=1 << 20) or []}
    assert rgb(PLACEHOLDER_FILL) not in colors
    # The committed thumbnail (drawn by the browser) and ours agree almost everywhere.
    with Image.open(asset_file(DEMO_MAP.thumbnail)) as reference:
        difference = ImageChops.difference(reference.convert("RGB"), image).convert("L")
    close = sum(difference.histogram()[:32])
    assert close / (640 * 480) > 0.99
