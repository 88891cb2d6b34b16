"""The space screen in a real browser: walking with the keyboard, proximity video between
two people, nearby chat that a third person far away does not get, and chat text that
stays text."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Platform, SignedUpPage
from tests.e2e.world import (
    Cell,
    Grid,
    dress,
    enter,
    no_call,
    position,
    send_chat,
    step,
    user_id,
    wait_until_video_plays,
    walk,
    watch_dialogs,
)

# Two spots in the open-plan office of the demo map, on the free row between desk rows.
WEST: Cell = (12, 8)
EAST: Cell = (20, 8)
RADIUS = 2.0  # PROXIMITY_RADIUS
LEAVE_RADIUS = 3.0  # PROXIMITY_LEAVE_RADIUS
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def office(platform: Platform, signed_up_page: SignedUpPage) -> tuple[str, Grid, Page]:
    """A public space made from the demo office map, and its first visitor's page."""
    page = signed_up_page()
    token = page.account.token  # type: ignore[attr-defined]
    maps = platform.api("GET", "/maps", token=token)["maps"]
    map_id = next(m["id"] for m in maps if m["name"] == "Demo office")
    space_id = platform.api(
        "POST",
        "/space",
        {"name": "Proximity office", "mapId": map_id, "visibility": "public"},
        token,
    )["spaceId"]
    grid = Grid(platform.api("GET", f"/space/{space_id}", token=token))
    assert grid.free(WEST) and grid.free(EAST)
    return space_id, grid, page


def test_proximity_video_chat_and_text_only(
    platform: Platform,
    office: tuple[str, Grid, Page],
    signed_up_page: SignedUpPage,
    artefacts: Path,
) -> None:
    space_id, grid, ann = office
    bob = signed_up_page()
    dress(platform, ann, "Ann Lee", "Ada")
    dress(platform, bob, "Bob Ng", "Bao")
    dialogs: list[str] = []
    for page in (ann, bob):
        watch_dialogs(page, dialogs)

    # Ann and Bob come in one after the other and walk to desks eight cells apart.
    enter(ann, space_id)
    walk(ann, grid, WEST)
    enter(bob, space_id)
    walk(bob, grid, EAST)
    no_call(ann)
    no_call(bob)

    # Bob walks toward Ann; once within the radius both see and hear each other.
    started = None
    while True:
        x, y = position(bob)
        nxt = (x - 1, y)
        step(bob, "a", nxt)
        if math.dist(nxt, WEST) <= RADIUS:
            started = time.monotonic()
            break
    wait_until_video_plays(ann, user_id(bob), 5000)
    wait_until_video_plays(bob, user_id(ann), 5000)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"video took {elapsed:.2f} s to play on both sides"
    expect(ann.locator("video[data-user-id]")).to_have_count(1)
    expect(ann.get_by_test_id("local-tile")).to_be_visible()

    # Cleo comes in and stays at the entrance, far from the call.
    cleo = signed_up_page()
    dress(platform, cleo, "Cleo Park", "Chidi")
    watch_dialogs(cleo, dialogs)
    enter(cleo, space_id)
    assert math.dist(position(cleo), WEST) > 10

    send_chat(ann, "hello nearby")
    expect(bob.get_by_test_id("chat-log")).to_contain_text("hello nearby")
    send_chat(bob, XSS)
    ann_message = ann.locator("[data-testid=chat-message]").filter(has_text="onerror")
    expect(ann_message.get_by_test_id("chat-text")).to_have_text(XSS)
    assert ann.get_by_test_id("chat-log").locator("img").count() == 0
    time.sleep(1.0)  # anything meant for Cleo would have arrived by now
    expect(cleo.get_by_test_id("chat-log")).not_to_contain_text("hello nearby")
    expect(cleo.get_by_test_id("chat-log")).not_to_contain_text("onerror")
    no_call(cleo)
    assert dialogs == []

    ann.wait_for_function(
        "() => [...document.querySelectorAll('video[data-user-id]')].every(v => v.videoWidth > 0)"
    )
    ann.get_by_test_id("space-canvas").focus()
    ann.screenshot(path=artefacts / "space-call.png")

    # Bob walks away: past the leave radius the tiles go within a second on both pages.
    bob.get_by_test_id("space-canvas").focus()
    while True:
        x, y = position(bob)
        nxt = (x + 1, y)
        step(bob, "d", nxt)
        if math.dist(nxt, WEST) > LEAVE_RADIUS:
            started = time.monotonic()
            break
    expect(ann.locator("video[data-user-id]")).to_have_count(0, timeout=1000)
    expect(bob.locator("video[data-user-id]")).to_have_count(0, timeout=1000)
    assert time.monotonic() - started < 1.5
    expect(ann.get_by_test_id("call-panel")).to_be_hidden()
