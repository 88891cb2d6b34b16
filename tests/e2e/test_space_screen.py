"""The space screen around the call: walls, the keyboard, another tab taking over, unknown
spaces, status and do-not-disturb, chat tabs with unread counts and history, and the
microphone toggle."""

from __future__ import annotations

from playwright.sync_api import Page, WebSocketRoute, expect

from tests.e2e.conftest import Platform, SignedUpPage
from tests.e2e.world import Grid, dress, enter, join, position, user_id, walk

# In the demo office: a free cell right above a desk (the desk covers (13, 10) and (14, 10)).
ABOVE_DESK = (13, 9)


def make_space(platform: Platform, page: Page, body: dict[str, str]) -> str:
    token = page.account.token  # type: ignore[attr-defined]
    space_id: str = platform.api("POST", "/space", {"visibility": "public"} | body, token)[
        "spaceId"
    ]
    return space_id


def office(platform: Platform, page: Page) -> tuple[str, Grid]:
    token = page.account.token  # type: ignore[attr-defined]
    maps = platform.api("GET", "/maps", token=token)["maps"]
    map_id = next(m["id"] for m in maps if m["name"] == "Demo office")
    space_id = make_space(platform, page, {"name": "Office", "mapId": map_id})
    return space_id, Grid(platform.api("GET", f"/space/{space_id}", token=token))


def test_walls_keyboard_another_tab_and_unknown_spaces(
    platform: Platform, signed_up_page: SignedUpPage
) -> None:
    ann = signed_up_page()
    space_id, grid = office(platform, ann)
    enter(ann, space_id)
    canvas = ann.get_by_test_id("space-canvas")
    expect(canvas).to_be_focused()

    # A desk blocks: the step is refused on the spot and nothing moves.
    walk(ann, grid, ABOVE_DESK)
    ann.keyboard.press("ArrowDown")
    ann.wait_for_timeout(300)
    assert position(ann) == ABOVE_DESK

    # Enter goes to the chat input; keys typed there are text, not steps; Escape leaves.
    ann.keyboard.press("Enter")
    chat_input = ann.locator("input[name=message]")
    expect(chat_input).to_be_focused()
    ann.keyboard.type("wasd")
    expect(chat_input).to_have_value("wasd")
    assert position(ann) == ABOVE_DESK
    ann.keyboard.press("Escape")
    expect(canvas).to_be_focused()
    ann.keyboard.press("ArrowLeft")
    expect(canvas).to_have_attribute("data-x", str(ABOVE_DESK[0] - 1))

    # The same person in a second tab takes over; the first says so and stops.
    second = ann.context.new_page()
    enter(second, space_id)
    error = ann.get_by_test_id("space-error")
    expect(error).to_have_attribute("data-reason", "replaced")
    expect(error).to_contain_text("another tab")
    expect(ann.get_by_test_id("space-screen")).to_have_attribute("data-connection", "closed")
    ann.get_by_test_id("space-rejoin").click()
    expect(ann.get_by_test_id("space-screen")).to_have_attribute("data-connection", "connected")
    expect(second.get_by_test_id("space-error")).to_have_attribute("data-reason", "replaced")

    # Someone else's private space: a message, no way in.
    bob = signed_up_page()
    private = make_space(
        platform, bob, {"name": "Bob's den", "dimensions": "4x4", "visibility": "private"}
    )
    ann.goto(f"/spaces/{private}")
    expect(ann.get_by_test_id("space-error")).to_have_attribute("data-reason", "forbidden")

    # A space that does not exist: a message and a way back to the lobby.
    ann.goto("/spaces/no-such-space")
    error = ann.get_by_test_id("space-error")
    expect(error).to_have_attribute("data-reason", "unknown_space")
    ann.get_by_test_id("space-error-lobby").click()
    ann.wait_for_url("**/")
    expect(ann.get_by_test_id("lobby")).to_be_visible()


def test_status_dnd_chat_tabs_history_and_microphone(
    platform: Platform, signed_up_page: SignedUpPage
) -> None:
    ann, bob = signed_up_page(), signed_up_page()
    dress(platform, ann, "Ann Lee", "Ada")
    dress(platform, bob, "Bob Ng", "Bao")
    # 3 x 2 cells: wherever the two appear, they are within the call radius.
    space_id = make_space(platform, ann, {"name": "Huddle", "dimensions": "3x2"})
    enter(ann, space_id)
    enter(bob, space_id)
    expect(ann.locator(f'video[data-user-id="{user_id(bob)}"]')).to_have_count(1)
    expect(bob.locator(f'video[data-user-id="{user_id(ann)}"]')).to_have_count(1)

    # The microphone toggle stops the microphone (nothing is captured while muted), and
    # starts it again.
    mic = ann.get_by_test_id("mic-toggle")
    expect(mic).to_be_enabled()
    mic.click()
    expect(mic).to_have_attribute("aria-pressed", "true")
    audio_tracks = "n => document.querySelector('[data-testid=local-video]')"
    audio_tracks += ".srcObject.getAudioTracks().filter(t => t.readyState === 'live').length === n"
    ann.wait_for_function(audio_tracks, arg=0)
    mic.click()
    expect(mic).to_have_attribute("aria-pressed", "false")
    ann.wait_for_function(audio_tracks, arg=1)

    # Do not disturb: others see it, and it takes Ann out of the call.
    ann.get_by_test_id("status-select").select_option("dnd")
    ann_row = bob.locator(f'[data-testid=person][data-user-id="{user_id(ann)}"]')
    expect(ann_row).to_have_attribute("data-status", "dnd")
    expect(ann_row).to_contain_text("Do not disturb")
    expect(bob.locator("video[data-user-id]")).to_have_count(0)
    expect(ann.locator("video[data-user-id]")).to_have_count(0)
    ann.get_by_test_id("status-select").select_option("available")
    expect(ann_row).to_have_attribute("data-status", "available")
    expect(bob.locator(f'video[data-user-id="{user_id(ann)}"]')).to_have_count(1)

    # Space-wide chat: an unread count on Bob's tab until he opens it.
    ann.get_by_test_id("chat-tab-space").click()
    ann.locator("input[name=message]").fill("all hands at three")
    ann.locator("input[name=message]").press("Enter")
    expect(bob.get_by_test_id("chat-unread-space")).to_have_text("1")
    bob.get_by_test_id("chat-tab-space").click()
    expect(bob.get_by_test_id("chat-log")).to_contain_text("all hands at three")
    expect(bob.get_by_test_id("chat-unread-space")).to_be_hidden()

    # A direct message from the people list.
    bob.locator(f'[data-testid=person][data-user-id="{user_id(ann)}"] .person-message').click()
    expect(bob.get_by_test_id("chat-tab-direct")).to_have_attribute("aria-selected", "true")
    bob.locator("input[name=message]").fill("psst")
    bob.locator("input[name=message]").press("Enter")
    expect(ann.get_by_test_id("chat-unread-direct")).to_have_text("1")

    # History comes from the API when a tab opens, also after a reload.
    bob.reload()
    join(bob)
    expect(bob.get_by_test_id("space-screen")).to_have_attribute("data-connection", "connected")
    bob.get_by_test_id("chat-tab-space").click()
    expect(bob.get_by_test_id("chat-log")).to_contain_text("all hands at three")
    bob.get_by_test_id("chat-tab-direct").click()
    bob.get_by_test_id("chat-direct-select").select_option(user_id(ann))
    expect(bob.get_by_test_id("chat-log")).to_contain_text("psst")


# The shape of a peer's video: WebRTC may scale it down under load, but keeps its shape.
VIDEO_SHAPE = """([userId, ratio]) => {
  const video = document.querySelector(`video[data-user-id="${userId}"]`);
  return Boolean(video) && video.videoHeight > 0
    && Math.abs(video.videoWidth / video.videoHeight - ratio) < 0.05;
}"""
CAMERA = 4 / 3  # the fake camera: 640 x 480
SCREEN = 1280 / 720  # the fake screen: the window


def test_screen_share_replaces_the_camera_and_gives_it_back(
    platform: Platform, signed_up_page: SignedUpPage
) -> None:
    ann, bob = signed_up_page(), signed_up_page()
    space_id = make_space(platform, ann, {"name": "Demo corner", "dimensions": "3x2"})
    enter(ann, space_id)
    enter(bob, space_id)
    bob.wait_for_function(VIDEO_SHAPE, arg=[user_id(ann), CAMERA])
    share = ann.get_by_test_id("share-toggle")
    share.click()
    expect(share).to_have_attribute("aria-pressed", "true")
    bob.wait_for_function(VIDEO_SHAPE, arg=[user_id(ann), SCREEN])
    share.click()
    expect(share).to_have_attribute("aria-pressed", "false")
    bob.wait_for_function(VIDEO_SHAPE, arg=[user_id(ann), CAMERA])


def test_reconnects_with_backoff_when_the_socket_drops(
    platform: Platform, signed_up_page: SignedUpPage
) -> None:
    ann = signed_up_page()
    routes: list[WebSocketRoute] = []

    def gateway(ws: WebSocketRoute) -> None:
        routes.append(ws)
        if len(routes) == 2:
            ws.close(code=1011, reason="still down")  # the first retry fails too
        else:
            ws.connect_to_server()

    ann.route_web_socket(lambda url: url.endswith("/ws"), gateway)
    space_id = make_space(platform, ann, {"name": "Flaky", "dimensions": "10x10"})
    enter(ann, space_id)
    screen = ann.get_by_test_id("space-screen")
    routes[0].close(code=1011, reason="gateway restarting")
    expect(screen).to_have_attribute("data-connection", "reconnecting")
    banner = ann.get_by_test_id("connection-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Reconnecting")
    expect(screen).to_have_attribute("data-connection", "connected", timeout=10_000)
    expect(banner).to_be_hidden()
    assert len(routes) == 3
    # Joined again: walking works on the new connection.
    x, y = position(ann)
    target = (x + 1, y) if x < 9 else (x - 1, y)
    ann.get_by_test_id("space-canvas").focus()
    ann.keyboard.press("ArrowRight" if target[0] > x else "ArrowLeft")
    expect(ann.get_by_test_id("space-canvas")).to_have_attribute("data-x", str(target[0]))
