"""The space screen in a real browser: walking with the keyboard, proximity video between
two people, nearby chat that a third person far away does not get, and chat text that
stays text.

Positions come from the canvas's `data-x`/`data-y` (my position as the page knows it);
paths are found on the collision grid of `GET /space/<id>`, as the page builds it.
"""

from __future__ import annotations

import math
import time
from collections import deque
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.e2e.conftest import Platform, SignedUpPage

Cell = tuple[int, int]

# Two spots in the open-plan office of the demo map, on the free row between desk rows.
WEST: Cell = (12, 8)
EAST: Cell = (20, 8)
RADIUS = 2.0  # PROXIMITY_RADIUS
LEAVE_RADIUS = 3.0  # PROXIMITY_LEAVE_RADIUS
# Arrow keys and WASD both walk.
KEYS: dict[Cell, str] = {(1, 0): "ArrowRight", (-1, 0): "ArrowLeft", (0, 1): "s", (0, -1): "w"}
XSS = "<img src=x onerror=alert(1)>"

# A remote video that plays: it has frames, and its clock moves on.
VIDEO_PLAYS = """(userId) => {
  const video = document.querySelector(`video[data-user-id="${userId}"]`);
  if (!video || video.videoWidth === 0) return false;
  if (video.dataset.t0 === undefined) { video.dataset.t0 = String(video.currentTime); return false; }
  return video.currentTime > Number(video.dataset.t0);
}"""


class Grid:
    """The free cells of a space, from `GET /space/<id>`."""

    def __init__(self, space: dict[str, Any]) -> None:
        width, height = (int(n) for n in space["dimensions"].split("x"))
        self.width, self.height = width, height
        self.blocked: set[Cell] = set()
        for placed in space["elements"]:
            element = placed["element"]
            if element["static"]:
                for dy in range(element["height"]):
                    for dx in range(element["width"]):
                        self.blocked.add((placed["x"] + dx, placed["y"] + dy))

    def free(self, cell: Cell) -> bool:
        x, y = cell
        return 0 <= x < self.width and 0 <= y < self.height and cell not in self.blocked

    def path(self, start: Cell, goal: Cell) -> list[Cell]:
        """The cells after `start` on a shortest walk to `goal`."""
        previous: dict[Cell, Cell | None] = {start: None}
        queue = deque([start])
        while queue:
            cell = queue.popleft()
            if cell == goal:
                break
            for dx, dy in KEYS:
                step = (cell[0] + dx, cell[1] + dy)
                if step not in previous and self.free(step):
                    previous[step] = cell
                    queue.append(step)
        assert goal in previous, f"no path from {start} to {goal}"
        walk: list[Cell] = []
        at: Cell | None = goal
        while at is not None and at != start:
            walk.append(at)
            at = previous[at]
        return walk[::-1]


def watch_dialogs(page: Page, seen: list[str]) -> None:
    """Record (and dismiss) any alert: chat text must never run as script."""

    def record(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)


def position(page: Page) -> Cell:
    x, y = page.get_by_test_id("space-canvas").evaluate("c => [c.dataset.x, c.dataset.y]")
    return int(x), int(y)


def user_id(page: Page) -> str:
    return str(page.account.user_id)  # type: ignore[attr-defined]


def dress(platform: Platform, page: Page, name: str, avatar: str) -> None:
    """Give the page's user a display name and one of the demo avatars."""
    token = page.account.token  # type: ignore[attr-defined]
    avatars = platform.api("GET", "/avatars", token=token)["avatars"]
    avatar_id = next(a["id"] for a in avatars if a["name"] == avatar)
    platform.api("POST", "/user/metadata", {"avatarId": avatar_id}, token)
    platform.api("PATCH", "/user/me", {"displayName": name}, token)


def enter(page: Page, space_id: str) -> None:
    page.goto(f"/spaces/{space_id}")
    expect(page.get_by_test_id("space-screen")).to_have_attribute("data-connection", "connected")
    expect(page.get_by_test_id("space-canvas")).not_to_have_attribute("data-x", "")


def step(page: Page, key: str, expected: Cell) -> None:
    page.keyboard.press(key)
    canvas = page.get_by_test_id("space-canvas")
    expect(canvas).to_have_attribute("data-x", str(expected[0]), timeout=3000)
    expect(canvas).to_have_attribute("data-y", str(expected[1]), timeout=3000)


def walk(page: Page, grid: Grid, goal: Cell) -> None:
    """Walk to `goal` with the keyboard, one cell per key press."""
    page.get_by_test_id("space-canvas").focus()
    for _ in range(200):
        at = position(page)
        if at == goal:
            time.sleep(0.2)  # a correction from the server would arrive by now
            if position(page) == goal:
                return
            continue
        nxt = grid.path(at, goal)[0]
        step(page, KEYS[(nxt[0] - at[0], nxt[1] - at[1])], nxt)
    raise AssertionError(f"could not walk to {goal}; at {position(page)}")


def no_call(page: Page) -> None:
    expect(page.locator("video[data-user-id]")).to_have_count(0, timeout=5000)
    expect(page.get_by_test_id("space-screen")).to_have_attribute("data-call-id", "")


def send_chat(page: Page, text: str) -> None:
    box = page.locator("input[name=message]")
    box.fill(text)
    box.press("Enter")
    expect(
        page.locator(f'[data-testid=chat-message][data-state="sent"] >> text="{text}"')
    ).to_be_visible()


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
    ann.wait_for_function(VIDEO_PLAYS, arg=user_id(bob), polling=50, timeout=5000)
    bob.wait_for_function(VIDEO_PLAYS, arg=user_id(ann), polling=50, timeout=5000)
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
