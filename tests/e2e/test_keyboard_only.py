"""The whole way in, by keyboard alone, at 1280 by 720: sign in, pick a space in the lobby,
walk, chat. Every stop on the way shows where the focus is."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Platform, sign_up

FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const visible = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
    || style.boxShadow !== "none";
  return { testid: el.dataset.testid || "", tag: el.tagName, visible };
}"""


def tab_to(page: Page, testid: str, limit: int = 60) -> None:
    """Press Tab until the element with `testid` has the focus, checking it is shown."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS)
        if focus and focus["testid"] == testid:
            assert focus["visible"], f"{testid} has the focus but does not show it"
            return
    raise AssertionError(f"Tab never reached {testid}")


def test_sign_in_enter_walk_and_chat_by_keyboard_at_1280x720(
    browser: Browser, platform: Platform
) -> None:
    account = sign_up(platform)
    space_id = platform.api(
        "POST",
        "/space",
        {"name": "Keyboard room", "dimensions": "8x4", "visibility": "public"},
        token=account.token,
    )["spaceId"]
    context = browser.new_context(
        base_url=platform.url,
        viewport={"width": 1280, "height": 720},
        permissions=["camera", "microphone"],
    )
    try:
        page = context.new_page()
        page.goto("/login")
        # The username field has the focus on arrival; Tab moves on, Enter submits.
        expect(page.locator("input[name=username]")).to_be_focused()
        page.keyboard.type(account.username)
        page.keyboard.press("Tab")
        page.keyboard.type(account.password)
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("lobby")).to_be_visible()

        tab_to(page, "space-enter")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{platform.url}/spaces/{space_id}")
        # The device check opens first, with "Join" focused: Enter goes in.
        join = page.get_by_test_id("device-check").get_by_role("button", name="Join")
        expect(join).to_be_focused()
        page.keyboard.press("Enter")
        canvas = page.get_by_test_id("space-canvas")
        expect(canvas).not_to_have_attribute("data-x", "")

        tab_to(page, "space-canvas")
        x = int(canvas.get_attribute("data-x") or "0")
        key, expected = ("ArrowLeft", x - 1) if x > 0 else ("ArrowRight", x + 1)
        page.keyboard.press(key)
        expect(canvas).to_have_attribute("data-x", str(expected))

        # Enter opens the chat box; the message goes to the open tab (nearby) on Enter.
        page.keyboard.press("Enter")
        expect(page.locator("input[name=message]")).to_be_focused()
        page.keyboard.type("typed without a mouse")
        page.keyboard.press("Enter")
        expect(
            page.locator(
                '[data-testid=chat-message][data-state="sent"]', has_text="without a mouse"
            )
        ).to_be_visible()
        # Escape hands the keys back to the map.
        page.keyboard.press("Escape")
        page.keyboard.press("ArrowRight" if key == "ArrowLeft" else "ArrowLeft")
        expect(canvas).to_have_attribute("data-x", str(x))
    finally:
        context.close()
