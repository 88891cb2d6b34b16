"""The smaller things: the editor's drag, form and toolbar; direct unread counts that open
the right conversation and survive a reload; an expired session explained; a phone."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, Position, Response, expect

from tests.e2e.conftest import Platform, SignedUpPage, sign_up, store_tokens
from tests.e2e.test_editor import Grid as EditorGrid
from tests.e2e.test_editor import element_png, select_element, token_of
from tests.e2e.world import Grid, enter, join, position, user_id

EDITOR_VIEWPORT = {"width": 1280, "height": 720}
PHONE_VIEWPORT = {"width": 390, "height": 844}
TILE_PX = 32


def test_editor_drag_fills_its_path_and_the_form_keeps_size_and_names(
    signed_up_page: SignedUpPage, platform: Platform, artefacts: Path, tmp_path: Path
) -> None:
    page = signed_up_page(admin=True)
    page.set_viewport_size(EDITOR_VIEWPORT)  # type: ignore[arg-type]
    token = token_of(page)
    page.goto("/editor")
    expect(page.get_by_test_id("editor")).to_be_visible()

    known = {e["id"] for e in platform.api("GET", "/elements", token=token)["elements"]}
    form = page.get_by_test_id("new-element-form")
    form.get_by_test_id("new-element-file").set_input_files(element_png(tmp_path / "bench.png"))
    form.get_by_test_id("new-element-name").fill("Blue bench")
    form.get_by_test_id("new-element-width").fill("2")
    form.get_by_test_id("new-element-height").fill("1")
    form.get_by_test_id("new-element-submit").click()
    expect(page.get_by_test_id("new-element-status")).to_contain_text("Element added")
    [bench] = [
        e for e in platform.api("GET", "/elements", token=token)["elements"] if e["id"] not in known
    ]
    assert (bench["name"], bench["width"], bench["height"]) == ("Blue bench", 2, 1)
    item = page.locator(f"[data-testid=palette-element][data-element-id='{bench['id']}']")
    expect(item).to_contain_text("Blue bench")
    # The size stays for the next element; the name and image start over.
    expect(form.get_by_test_id("new-element-width")).to_have_value("2")
    expect(form.get_by_test_id("new-element-height")).to_have_value("1")
    expect(form.get_by_test_id("new-element-name")).to_have_value("")

    page.get_by_test_id("map-width").fill("20")
    page.get_by_test_id("map-height").fill("10")
    page.get_by_test_id("map-resize").click()
    floor = next(
        e
        for e in platform.api("GET", "/elements", token=token)["elements"]
        if e["imageUrl"].endswith("/floor-wood.svg")
    )
    select_element(page, floor["id"])
    grid = EditorGrid(page)
    # One pointer event per segment: the pointer jumps several cells at a time.
    for start, end in [((0, 8), (15, 8)), ((2, 0), (9, 7))]:
        page.mouse.move(*grid.point(*start))
        page.mouse.down()
        page.mouse.move(*grid.point(*end), steps=1)
        page.mouse.up()
    # 16 cells in the row, 8 on the diagonal.
    expect(page.get_by_test_id("editor-readout")).to_contain_text("24 elements")

    page.screenshot(path=artefacts / "editor-1280.png")
    # The toolbar fits the 1280 px window: nothing overflows it or the page.
    overflow = page.evaluate(
        """() => [...document.querySelectorAll('.editor-toolbar, .editor-toolbar *')]
              .filter(el => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
              .map(el => el.className)"""
    )
    assert overflow == []
    toolbar = page.locator(".editor-toolbar").bounding_box()
    assert toolbar is not None
    for control in page.locator(".editor-toolbar > *").all():
        box = control.bounding_box()
        if box is not None:
            assert box["x"] + box["width"] <= toolbar["x"] + toolbar["width"] + 1, box
    assert page.evaluate("document.documentElement.scrollWidth") <= EDITOR_VIEWPORT["width"]


def _space(platform: Platform, token: str) -> str:
    space_id: str = platform.api(
        "POST", "/space", {"name": "Details", "dimensions": "16x10"}, token=token
    )["spaceId"]
    return space_id


def _direct(page: Page, to: str, text: str) -> None:
    page.get_by_test_id("chat-tab-direct").click()
    page.get_by_test_id("chat-direct-select").select_option(to)
    page.locator("input[name=message]").fill(text)
    page.locator("input[name=message]").press("Enter")
    expect(
        page.locator("[data-testid=chat-message][data-state=sent]").filter(has_text=text)
    ).to_have_count(1)


def test_direct_unread_opens_its_conversation_and_survives_a_reload(
    signed_up_page: SignedUpPage, platform: Platform
) -> None:
    ana, bob, cy = signed_up_page(), signed_up_page(), signed_up_page()
    space_id = _space(platform, token_of(ana))
    for page in (ana, bob, cy):
        enter(page, space_id)
    expect(ana.get_by_test_id("people-count")).to_contain_text("3")

    # Ana last looked at her conversation with Cy, then went to the Space tab.
    ana.get_by_test_id("chat-tab-direct").click()
    ana.get_by_test_id("chat-direct-select").select_option(user_id(cy))
    ana.get_by_test_id("chat-tab-space").click()

    _direct(bob, user_id(ana), "first from Bob")
    unread = ana.get_by_test_id("chat-unread-direct")
    expect(unread).to_have_text("1")
    with ana.expect_response(_read_position(stored=True)):  # a second after it settles
        ana.get_by_test_id("chat-tab-direct").click()
        expect(ana.get_by_test_id("chat-direct-select")).to_have_value(user_id(bob))
        expect(ana.get_by_test_id("chat-log")).to_contain_text("first from Bob")
        expect(unread).to_be_hidden()
    ana.get_by_test_id("chat-tab-space").click()

    _direct(bob, user_id(ana), "second from Bob")
    expect(unread).to_have_text("1")
    _wait_stored(platform, token_of(bob), user_id(ana), "second from Bob")
    with ana.expect_response(_read_position(stored=False)):
        ana.reload()
        join(ana)
    expect(unread).to_have_text("1")
    with ana.expect_response(_read_position(stored=True)):
        ana.get_by_test_id("chat-tab-direct").click()
        expect(ana.get_by_test_id("chat-direct-select")).to_have_value(user_id(bob))
        expect(ana.get_by_test_id("chat-log")).to_contain_text("second from Bob")
    with ana.expect_response(_read_position(stored=False)) as counts:
        ana.reload()
        join(ana)
    assert counts.value.json()["conversations"] == [
        {"key": f"direct:{user_id(bob)}", "messageId": ANY_ID, "unread": 0}
    ]
    expect(unread).to_be_hidden()


class _AnyId:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and len(other) == 26


ANY_ID = _AnyId()


def _read_position(*, stored: bool) -> Callable[[Response], bool]:
    """A predicate for the answer to PUT /chat/read (`stored`) or GET /chat/read."""
    method = "PUT" if stored else "GET"
    return lambda r: "/api/v1/chat/read" in r.url and r.request.method == method and r.ok


def _wait_stored(platform: Platform, token: str, other: str, text: str) -> None:
    """Wait until the consumer has stored a direct message (history shows it)."""
    for _ in range(50):
        history = platform.api("GET", f"/dm/{other}/messages", token=token)["messages"]
        if any(m["text"] == text for m in history):
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} was never stored")


def test_an_expired_session_says_so_on_the_sign_in_page(
    signed_up_page: SignedUpPage, platform: Platform
) -> None:
    page = signed_up_page()
    expect(page.get_by_test_id("lobby")).to_be_visible()
    account = page.account  # type: ignore[attr-defined]
    space_id = _space(platform, account.token)
    platform.api("POST", "/signout", {"refreshToken": account.refresh_token})
    page.evaluate("localStorage.setItem('metaverse.token', 'expired')")
    page.goto(f"/spaces/{space_id}")
    expect(page).to_have_url(re.compile(rf"/login\?reason=expired&next=%2Fspaces%2F{space_id}$"))
    expect(page.get_by_test_id("auth-expired")).to_have_text("Your session expired; sign in again.")
    page.get_by_test_id("username").fill(account.username)
    page.get_by_test_id("password").fill(account.password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(rf"/spaces/{space_id}$"))
    expect(page.get_by_test_id("auth-expired")).to_have_count(0)
    # Signing out on purpose says nothing about expiry.
    page.goto("/")
    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_test_id("auth-expired")).to_have_count(0)


def test_a_phone_shows_the_map_full_width_a_menu_and_a_tap_walks(
    browser: Browser, platform: Platform, artefacts: Path
) -> None:
    account = sign_up(platform)
    demo = next(
        m
        for m in platform.api("GET", "/maps", token=account.token)["maps"]
        if m["name"] == "Demo office"
    )
    space_id = platform.api(
        "POST", "/space", {"name": "Demo office", "mapId": demo["id"]}, token=account.token
    )["spaceId"]
    context = browser.new_context(
        base_url=platform.url,
        viewport=PHONE_VIEWPORT,  # type: ignore[arg-type]
        has_touch=True,
        is_mobile=True,
        permissions=["camera", "microphone"],
    )
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        store_tokens(page, account)
        enter(page, space_id)

        stage = page.get_by_test_id("space-canvas").bounding_box()
        bar = page.get_by_test_id("space-bar").bounding_box()
        assert stage is not None and bar is not None
        assert stage["x"] <= 1 and stage["width"] >= PHONE_VIEWPORT["width"] - 2, stage
        # The map takes the screen below the bar.
        assert stage["y"] + stage["height"] >= PHONE_VIEWPORT["height"] - 2, stage
        # Nothing scrolls the page itself: not sideways, not down.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
        assert page.evaluate("document.documentElement.scrollHeight") <= PHONE_VIEWPORT["height"]

        controls = page.get_by_test_id("space-controls")
        menu = page.get_by_test_id("space-menu")
        expect(controls).to_be_hidden()
        menu.tap()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(controls).to_be_visible()
        expect(page.get_by_test_id("status-select")).to_be_visible()
        page.screenshot(path=artefacts / "phone-menu.png")
        menu.tap()
        expect(controls).to_be_hidden()

        # A tap on a free cell walks there.
        space = platform.api("GET", f"/space/{space_id}", token=account.token)
        grid = Grid(space)
        start = position(page)
        goal = next(
            (start[0] + dx, start[1] + dy)
            for dx, dy in [(2, -3), (-2, -3), (3, -1), (-3, -1), (-2, 2), (2, 2)]
            if grid.free((start[0] + dx, start[1] + dy))
        )
        canvas = page.get_by_test_id("space-canvas")
        canvas.tap(position=_cell_point(page, (grid.width, grid.height), start, goal))
        expect(canvas).to_have_attribute("data-x", str(goal[0]), timeout=5000)
        expect(canvas).to_have_attribute("data-y", str(goal[1]), timeout=5000)
        page.screenshot(path=artefacts / "phone.png")
    finally:
        context.close()


def _cell_point(
    page: Page, world: tuple[int, int], me: tuple[int, int], cell: tuple[int, int]
) -> Position:
    """Where `cell` is drawn on the canvas, by the camera's rule (render/camera.js at 100%):
    centred on me, clamped to the world, a world smaller than the view centred."""
    view = page.get_by_test_id("space-canvas").evaluate("c => [c.clientWidth, c.clientHeight]")

    def axis(centre: int, view_len: float, cells: int) -> float:
        world_len = cells * TILE_PX
        if world_len <= view_len:
            return (world_len - view_len) / 2
        wanted = (centre + 0.5) * TILE_PX - view_len / 2
        return min(max(0.0, wanted), world_len - view_len)

    left, top = axis(me[0], view[0], world[0]), axis(me[1], view[1], world[1])
    return {"x": (cell[0] + 0.5) * TILE_PX - left, "y": (cell[1] + 0.5) * TILE_PX - top}
