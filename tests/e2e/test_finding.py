"""Finding people from "Here now": walking up to someone on the far side of a wall, one
ordinary step at a time, and waving at them (held back while they do not want to be
disturbed)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from playwright.sync_api import Page, expect
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.e2e.conftest import Platform, SignedUpPage, sign_up
from tests.e2e.world import Grid, enter, position, user_id, walk

WALL_X = 6


def person_row(page: Page, of: Page) -> object:
    row = page.locator(f"[data-testid=person][data-user-id='{user_id(of)}']")
    row.hover()  # the finding buttons show for the row under the pointer
    return row


def test_walk_to_someone_behind_a_wall_and_wave_at_them(
    platform: Platform, signed_up_page: SignedUpPage, artefacts: Path
) -> None:
    ann = signed_up_page(admin=True)
    bob = signed_up_page()
    token = ann.account.token  # type: ignore[attr-defined]
    space_id = platform.api(
        "POST", "/space", {"name": "Walls", "dimensions": "12x8", "visibility": "public"}, token
    )["spaceId"]
    wall = platform.api(
        "POST",
        "/admin/element",
        {"imageUrl": "/assets/elements/plant.svg", "width": 1, "height": 1, "static": True},
        token,
    )["id"]
    for y in range(7):  # a wall down the middle, open only on the bottom row
        platform.api(
            "POST",
            "/space/element",
            {"elementId": wall, "spaceId": space_id, "x": WALL_X, "y": y},
            token,
        )
    grid = Grid(platform.api("GET", f"/space/{space_id}", token=token))
    enter(ann, space_id)
    enter(bob, space_id)
    walk(ann, grid, (2, 1))
    walk(bob, grid, (9, 1))

    # Walk to: around the wall, ending next to bob.
    row = person_row(ann, bob)
    row.get_by_role("button", name="Walk to", exact=True).click()  # type: ignore[attr-defined]
    screen = ann.get_by_test_id("space-screen")
    expect(screen).to_have_attribute("data-walking", "walk")
    expect(screen).to_have_attribute("data-walking", "", timeout=20_000)
    x, y = position(ann)
    assert abs(x - 9) + abs(y - 1) == 1, (x, y)

    # A wave reaches bob, with ann's name.
    person_row(ann, bob).get_by_role("button", name="Wave", exact=True).click()  # type: ignore[attr-defined]
    notice = bob.get_by_test_id("notice-wave")
    expect(notice).to_contain_text("waves at you")
    bob.screenshot(path=str(artefacts / "wave.png"))
    notice.get_by_role("button", name="Dismiss").click()
    expect(notice).to_have_count(0)
    # In do not disturb, bob hears no wave.
    bob.get_by_test_id("status-select").select_option("dnd")
    expect(ann.locator(f"[data-testid=person][data-user-id='{user_id(bob)}']")).to_have_attribute(
        "data-status", "dnd"
    )
    person_row(ann, bob).get_by_role("button", name="Wave", exact=True).click()  # type: ignore[attr-defined]
    bob.wait_for_timeout(1000)
    expect(bob.get_by_test_id("notice-wave")).to_have_count(0)

    # A key press stops following.
    person_row(ann, bob).get_by_role("button", name="Follow", exact=True).click()  # type: ignore[attr-defined]
    expect(screen).to_have_attribute("data-walking", "follow")
    ann.get_by_test_id("space-canvas").press("Shift")
    expect(screen).to_have_attribute("data-walking", "")


def test_the_minimap_and_zoom(
    platform: Platform, signed_up_page: SignedUpPage, artefacts: Path
) -> None:
    ann = signed_up_page()
    token = ann.account.token  # type: ignore[attr-defined]
    maps = platform.api("GET", "/maps", token=token)["maps"]
    map_id = next(m["id"] for m in maps if m["name"] == "Demo office")
    space_id = platform.api(
        "POST", "/space", {"name": "Office", "mapId": map_id, "visibility": "public"}, token
    )["spaceId"]
    enter(ann, space_id)
    minimap = ann.get_by_test_id("minimap")
    expect(minimap).to_be_visible()
    box = minimap.bounding_box()
    assert box is not None and 60 < box["width"] <= 172, box
    level = ann.get_by_test_id("zoom-level")
    expect(level).to_have_text("100%")
    ann.get_by_role("button", name="Zoom in").click()
    expect(level).to_have_text("125%")
    canvas = ann.get_by_test_id("space-canvas")
    canvas.hover()
    ann.keyboard.down("Control")
    ann.mouse.wheel(0, 200)
    ann.keyboard.up("Control")
    expect(level).to_have_text("100%")
    ann.get_by_role("button", name="Zoom out").click()
    expect(level).to_have_text("75%")
    ann.wait_for_timeout(300)
    ann.screenshot(path=str(artefacts / "minimap.png"))


def shown(page: Page) -> tuple[int, int, int, int]:
    view = page.get_by_test_id("space-canvas").get_attribute("data-view") or "0,0,0,0"
    x, y, w, h = (int(n) for n in view.split(","))
    return x, y, w, h


def test_locate_shows_someone_far_away(platform: Platform, signed_up_page: SignedUpPage) -> None:
    ann = signed_up_page()
    bob = signed_up_page()
    token = ann.account.token  # type: ignore[attr-defined]
    space_id = platform.api(
        "POST", "/space", {"name": "Hall", "dimensions": "64x20", "visibility": "public"}, token
    )["spaceId"]
    grid = Grid(platform.api("GET", f"/space/{space_id}", token=token))
    enter(ann, space_id)
    enter(bob, space_id)
    walk(ann, grid, (2, 10))
    walk(bob, grid, (60, 10))
    bx, by = position(bob)
    x, _, w, _ = shown(ann)
    assert not (x <= bx < x + w), "bob starts out of ann's view"
    person_row(ann, bob).get_by_role("button", name="Locate", exact=True).click()  # type: ignore[attr-defined]
    ann.wait_for_function(
        """([bx, by]) => {
          const [x, y, w, h] = document.querySelector('[data-testid=space-canvas]').dataset.view.split(',').map(Number);
          return x <= bx && bx < x + w && y <= by && by < y + h;
        }""",
        arg=[bx, by],
        timeout=5000,
    )


def test_in_a_crowd_only_the_people_near_me_are_named(
    platform: Platform, signed_up_page: SignedUpPage
) -> None:
    ann = signed_up_page()
    token = ann.account.token  # type: ignore[attr-defined]
    space_id = platform.api(
        "POST", "/space", {"name": "Crowd", "dimensions": "30x12", "visibility": "public"}, token
    )["spaceId"]
    grid = Grid(platform.api("GET", f"/space/{space_id}", token=token))
    enter(ann, space_id)
    walk(ann, grid, (28, 1))
    canvas = ann.get_by_test_id("space-canvas")
    with contextlib.ExitStack() as stack:

        def arrive(count: int, first: int) -> None:
            """`count` others join over plain WebSockets, in a row along the bottom."""
            for n in range(first, first + count):
                account = sign_up(platform)
                ws = stack.enter_context(
                    connect(platform.ws_url, origin=Origin(platform.url), max_queue=None)
                )
                at = {"x": 2 + n, "y": 11}
                payload = {"spaceId": space_id, "token": account.token, "resume": at}
                ws.send(json.dumps({"type": "join", "payload": payload}))
                assert json.loads(ws.recv(timeout=10))["type"] == "space-joined"

        # A few people far from me: everyone is named.
        arrive(5, 0)
        expect(ann.get_by_test_id("people-count")).to_have_text("6")
        expect(canvas).to_have_attribute("data-named", "6")
        # A crowd (17 in view): only me, and whoever stands within 3 tiles, are named.
        arrive(11, 5)
        expect(ann.get_by_test_id("people-count")).to_have_text("17")
        expect(canvas).to_have_attribute("data-named", "1")
