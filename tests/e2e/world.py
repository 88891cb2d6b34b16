"""What the space-screen browser tests share: the collision grid of a space, walking with
the keyboard, entering, chatting, and reading what the page shows.

Positions come from the canvas's `data-x`/`data-y` (my position as the page knows it);
paths are found on the collision grid of `GET /space/<id>`, as the page builds it.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from playwright.sync_api import Dialog, Page, expect

from tests.e2e.conftest import Platform

Cell = tuple[int, int]

# Arrow keys and WASD both walk.
KEYS: dict[Cell, str] = {(1, 0): "ArrowRight", (-1, 0): "ArrowLeft", (0, 1): "s", (0, -1): "w"}


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


def join(page: Page) -> None:
    """Pass the device check that opens before a space, as it stands, with "Join"."""
    check = page.get_by_test_id("device-check")
    expect(check).to_be_visible()
    check.get_by_role("button", name="Join").click()
    expect(check).to_have_count(0)


def enter(page: Page, space_id: str) -> None:
    page.goto(f"/spaces/{space_id}")
    join(page)
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


# A remote video that plays: it has frames, and its clock moves on.
VIDEO_PLAYS = """(userId) => {
  const video = document.querySelector(`video[data-user-id="${userId}"]`);
  if (!video || video.videoWidth === 0) return false;
  if (video.dataset.t0 === undefined) { video.dataset.t0 = String(video.currentTime); return false; }
  return video.currentTime > Number(video.dataset.t0);
}"""


def wait_until_video_plays(page: Page, user_id: str, timeout_ms: float) -> None:
    """Wait until the page plays `user_id`'s video (raises if it doesn't in time)."""
    page.wait_for_function(VIDEO_PLAYS, arg=user_id, polling=50, timeout=timeout_ms)
