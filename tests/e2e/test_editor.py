"""The map editor: an admin uploads an element, lays out a map, draws areas, saves it and
makes a space from it; the API shows exactly that layout."""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Platform, SignedUpPage


def token_of(page: Page) -> str:
    token: str = page.account.token  # type: ignore[attr-defined]
    return token


def element_png(path: Path) -> Path:
    """A 2x1-tile element (64x32 px): a little blue bench."""
    image = Image.new("RGBA", (64, 32), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((2, 8, 61, 27), radius=6, fill=(37, 99, 235, 255), outline=(23, 37, 84))
    draw.rectangle((6, 27, 10, 31), fill=(23, 37, 84))
    draw.rectangle((53, 27, 57, 31), fill=(23, 37, 84))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


class Grid:
    """Clicks and drags on the editor's canvas by cell."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.canvas = page.get_by_test_id("editor-canvas")

    def point(self, x: int, y: int) -> tuple[float, float]:
        box = self.canvas.bounding_box()
        assert box is not None
        zoom = float(self.page.get_by_test_id("editor-zoom").input_value())
        return box["x"] + (x + 0.5) * zoom, box["y"] + (y + 0.5) * zoom

    def click(self, x: int, y: int, button: str = "left") -> None:
        px, py = self.point(x, y)
        self.page.mouse.click(px, py, button=button)  # type: ignore[arg-type]

    def drag(self, start: tuple[int, int], end: tuple[int, int]) -> None:
        self.page.mouse.move(*self.point(*start))
        self.page.mouse.down()
        self.page.mouse.move(*self.point(*end), steps=6)
        self.page.mouse.up()


def select_element(page: Page, element_id: str) -> None:
    page.locator(f"[data-testid=palette-element][data-element-id='{element_id}']").click()


def add_area(
    page: Page, grid: Grid, start: tuple[int, int], end: tuple[int, int], name: str, kind: str
) -> None:
    page.get_by_test_id("tool-area").click()
    grid.drag(start, end)
    form = page.get_by_test_id("area-form")
    expect(form).to_be_visible()
    form.get_by_test_id("area-name").fill(name)
    form.get_by_test_id("area-kind").select_option(kind)
    form.get_by_test_id("area-add").click()
    expect(form).to_be_hidden()


def test_an_admin_builds_a_map_and_a_space_uses_it(
    signed_up_page: SignedUpPage, platform: Platform, artefacts: Path, tmp_path: Path
) -> None:
    page = signed_up_page(admin=True)
    token = token_of(page)
    page.get_by_test_id("nav-editor").click()
    expect(page).to_have_url(re.compile(r"/editor$"))
    expect(page.get_by_test_id("editor")).to_be_visible()

    # A new element from an uploaded PNG: 2x1 tiles, static.
    known = {e["id"] for e in platform.api("GET", "/elements", token=token)["elements"]}
    creator = page.get_by_test_id("new-element-form")
    creator.get_by_test_id("new-element-file").set_input_files(element_png(tmp_path / "bench.png"))
    creator.get_by_test_id("new-element-width").fill("2")
    creator.get_by_test_id("new-element-height").fill("1")
    creator.get_by_test_id("new-element-static").check()
    creator.get_by_test_id("new-element-submit").click()
    expect(page.get_by_test_id("new-element-status")).to_contain_text("Element added")
    elements = platform.api("GET", "/elements", token=token)["elements"]
    [bench] = [e for e in elements if e["id"] not in known]
    assert bench["imageUrl"].startswith("/media/")
    assert (bench["width"], bench["height"], bench["static"]) == (2, 1, True)
    # The new element is in the palette and selected, its image served.
    item = page.locator(f"[data-testid=palette-element][data-element-id='{bench['id']}']")
    expect(item.locator("input")).to_be_checked()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 64", arg=item.locator("img").element_handle()
    )

    by_name = {Path(e["imageUrl"]).stem: e for e in elements}
    floor, plant = by_name["floor-wood"], by_name["plant"]

    # Name and size: 12 x 8.
    page.get_by_test_id("map-name").fill("Small studio")
    page.get_by_test_id("map-width").fill("12")
    page.get_by_test_id("map-height").fill("8")
    page.get_by_test_id("map-resize").click()
    expect(page.get_by_test_id("editor-readout")).to_contain_text("0 elements")

    grid = Grid(page)
    grid.click(2, 2)  # the bench (selected after upload)
    select_element(page, floor["id"])
    grid.drag((0, 6), (3, 6))  # a strip of floor: four tiles
    select_element(page, plant["id"])
    grid.click(9, 1)
    grid.click(10, 1)
    grid.click(10, 1, button="right")  # right-click takes the plant away again

    # The keyboard alternative: focus the grid, move the cursor, Enter places.
    page.get_by_test_id("editor-canvas").focus()
    page.keyboard.press("ArrowRight")  # the cursor is on the last clicked cell (10, 1)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # a plant at (11, 2)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")  # and at (10, 2)
    page.keyboard.press("Delete")  # removed again
    expect(page.get_by_test_id("editor-readout")).to_contain_text("7 elements")

    add_area(page, grid, (0, 0), (4, 4), "Meeting room", "room")
    add_area(page, grid, (8, 5), (10, 6), "Entrance", "spawn")
    items = page.get_by_test_id("area-item")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("Meeting room")
    expect(items.nth(1)).to_contain_text("spawn")
    page.screenshot(path=artefacts / "editor.png")

    page.get_by_test_id("save-map").click()
    expect(page.get_by_test_id("map-saved")).to_contain_text("Small studio")
    page.get_by_test_id("space-name").fill("Studio space")
    page.get_by_test_id("create-space-from-map").click()
    expect(page).to_have_url(re.compile(r"/spaces/[^/]+$"))
    space_id = page.url.rsplit("/", 1)[1]

    space = platform.api("GET", f"/space/{space_id}", token=token)
    assert space["name"] == "Studio space"
    assert space["dimensions"] == "12x8"
    placed = sorted((p["element"]["id"], p["x"], p["y"]) for p in space["elements"])
    assert placed == sorted(
        [
            (bench["id"], 2, 2),
            *[(floor["id"], x, 6) for x in range(4)],
            (plant["id"], 9, 1),
            (plant["id"], 11, 2),
        ]
    )
    areas = sorted(
        (a["name"], a["kind"], a["x"], a["y"], a["width"], a["height"]) for a in space["areas"]
    )
    assert areas == [("Entrance", "spawn", 8, 5, 3, 2), ("Meeting room", "room", 0, 0, 5, 5)]
    # The server drew the map's thumbnail, and the space shows it.
    saved = next(
        m for m in platform.api("GET", "/maps", token=token)["maps"] if m["id"] == space["mapId"]
    )
    assert saved["name"] == "Small studio"
    assert saved["thumbnail"]
    assert space["thumbnail"] == saved["thumbnail"]


def test_a_map_opens_in_the_editor_and_shrinking_removes_what_falls_outside(
    signed_up_page: SignedUpPage, platform: Platform
) -> None:
    page = signed_up_page(admin=True)
    token = token_of(page)
    demo = next(
        m for m in platform.api("GET", "/maps", token=token)["maps"] if m["name"] == "Demo office"
    )
    page.goto(f"/editor/{demo['id']}")
    expect(page.get_by_test_id("map-width")).to_have_value("40")
    expect(page.get_by_test_id("area-item")).to_have_count(5)
    page.get_by_test_id("map-width").fill("20")
    page.get_by_test_id("map-width").press("Enter")
    status = page.get_by_test_id("editor-status")
    expect(status).to_contain_text("removed")
    expect(status).to_contain_text("area")
    # Library (x 30..38) and Lounge (x 28..38) are gone; the town hall (16..23) is clipped.
    expect(page.get_by_test_id("area-item")).to_have_count(3)
    expect(page.get_by_test_id("area-list")).to_contain_text("Town hall")
    expect(page.get_by_test_id("area-list")).to_contain_text("16, 15 \u00b7 4 \u00d7 5")


def test_saving_needs_a_name_and_changes_nothing_without_one(
    signed_up_page: SignedUpPage, platform: Platform
) -> None:
    page = signed_up_page(admin=True)
    token = token_of(page)
    before = len(platform.api("GET", "/maps", token=token)["maps"])
    page.goto("/editor")
    page.get_by_test_id("map-name").fill("  ")
    page.get_by_test_id("save-map").click()
    expect(page.get_by_test_id("editor-status")).to_contain_text("Give the map a name")
    assert len(platform.api("GET", "/maps", token=token)["maps"]) == before


def test_an_unsupported_upload_is_refused_with_a_clear_message(
    signed_up_page: SignedUpPage, platform: Platform, tmp_path: Path
) -> None:
    page = signed_up_page(admin=True)
    token = token_of(page)
    before = platform.api("GET", "/elements", token=token)["elements"]
    page.goto("/editor")
    fake = tmp_path / "notes.png"
    fake.write_bytes(b"this is not a picture")
    page.get_by_test_id("new-element-file").set_input_files(fake)
    page.get_by_test_id("new-element-submit").click()
    status = page.get_by_test_id("new-element-status")
    expect(status).to_be_visible()
    expect(status).not_to_contain_text("Element added")
    assert platform.api("GET", "/elements", token=token)["elements"] == before


def test_non_admins_are_told_the_editor_is_for_admins(signed_up_page: SignedUpPage) -> None:
    page = signed_up_page()
    expect(page.get_by_test_id("lobby")).to_be_visible()
    expect(page.get_by_test_id("nav-editor")).to_have_count(0)
    page.goto("/editor")
    expect(page.get_by_test_id("editor-forbidden")).to_contain_text("for admins")
    expect(page.get_by_test_id("editor-canvas")).to_have_count(0)
