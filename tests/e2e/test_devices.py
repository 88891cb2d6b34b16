"""Consent before the camera, and a big view: the device check that opens before a space
(preview, level meter, pickers, choices remembered), nothing captured that isn't needed,
a peer's muted microphone and camera off on their tile, the outline of whoever speaks,
a tile pinned large (fullscreen, Escape) and a shared screen that opens large by itself."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import Platform, SignedUpPage
from tests.e2e.world import join, user_id, wait_until_video_plays

# Every track the page gets from the camera and microphone, kept where the test can see it.
KEEP_TRACKS = """(() => {
  const devices = navigator.mediaDevices;
  const original = devices.getUserMedia.bind(devices);
  window.mediaTracks = [];
  devices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    window.mediaTracks.push(...stream.getTracks());
    return stream;
  };
})()"""
LIVE_KINDS = (
    "() => window.mediaTracks.filter((t) => t.readyState === 'live').map((t) => t.kind).sort()"
)


def small_space(platform: Platform, owner: Page, name: str = "Small") -> str:
    """A public space of 3 by 2 tiles: wherever two people spawn, they are in one call."""
    token = owner.account.token  # type: ignore[attr-defined]
    body = {"name": name, "dimensions": "3x2", "visibility": "public"}
    space_id: str = platform.api("POST", "/space", body, token)["spaceId"]
    return space_id


def tile(page: Page, of: Page) -> Locator:
    return page.locator(f'[data-testid=video-tile][data-user-id="{user_id(of)}"]')


def test_the_device_check_comes_before_the_space(
    platform: Platform, signed_up_page: SignedUpPage, artefacts: Path
) -> None:
    ann = signed_up_page()
    ann.add_init_script(KEEP_TRACKS)
    space_id = small_space(platform, ann, "Design review")
    ann.goto(f"/spaces/{space_id}")
    check = ann.get_by_test_id("device-check")
    expect(check).to_be_visible()
    assert check.evaluate("d => d.tagName === 'DIALOG' && d.open")
    # Not in the space yet: the gateway waits for "Join".
    expect(ann.get_by_test_id("space-screen")).to_have_attribute("data-connection", "connecting")
    expect(check).to_contain_text("Design review")
    # The preview plays the camera; the meter moves with the (fake) microphone's beeps.
    ann.wait_for_function(
        "() => document.querySelector('[data-testid=device-preview]').videoWidth > 0"
    )
    ann.wait_for_function(
        "() => Number(document.querySelector('[data-testid=mic-meter]').dataset.level) > 0",
        polling=30,
    )
    expect(check.get_by_test_id("camera-select").locator("option")).not_to_have_count(0)
    expect(check.get_by_test_id("microphone-select").locator("option")).not_to_have_count(0)
    expect(check.get_by_test_id("camera-select")).to_be_enabled()
    microphones = check.get_by_test_id("microphone-select").locator("option").count()
    assert microphones >= 1
    expect(check.get_by_role("button", name="Join")).to_be_focused()
    ann.screenshot(path=artefacts / "device-check.png")

    # Camera off and muted: the preview's tracks stop at once.
    check.locator("input[name=camera-off]").check()
    check.locator("input[name=muted]").check()
    ann.wait_for_function(f"() => ({LIVE_KINDS})().length === 0")
    expect(check.get_by_test_id("device-preview-note")).to_contain_text("camera stays off")
    join(ann)
    expect(ann.get_by_test_id("space-screen")).to_have_attribute("data-connection", "connected")
    # Mute and camera off work before any call, and nothing is captured meanwhile.
    mic = ann.get_by_test_id("mic-toggle")
    camera = ann.get_by_test_id("camera-toggle")
    expect(mic).to_be_enabled()
    expect(mic).to_have_attribute("aria-pressed", "true")
    expect(camera).to_have_attribute("aria-pressed", "true")
    mic.click()
    expect(mic).to_have_attribute("aria-pressed", "false")
    ann.wait_for_timeout(500)
    assert ann.evaluate(LIVE_KINDS) == []

    # Remembered in this browser: the next visit opens with the same choices.
    ann.reload()
    check = ann.get_by_test_id("device-check")
    expect(check.locator("input[name=camera-off]")).to_be_checked()
    expect(check.locator("input[name=muted]")).to_be_checked()
    assert ann.evaluate("() => window.mediaTracks.length") == 0, "nothing captured"
    # Back to the lobby from the check: nothing entered, nothing left running.
    check.get_by_role("button", name="Back to the lobby").click()
    expect(ann.get_by_test_id("lobby")).to_be_visible()


def test_a_peer_muted_with_the_camera_off_and_the_speaking_outline(
    platform: Platform, signed_up_page: SignedUpPage, artefacts: Path
) -> None:
    ann, bob = signed_up_page(), signed_up_page()
    bob.add_init_script(KEEP_TRACKS)
    space_id = small_space(platform, ann)
    ann.goto(f"/spaces/{space_id}")
    join(ann)
    bob.goto(f"/spaces/{space_id}")
    check = bob.get_by_test_id("device-check")
    check.locator("input[name=camera-off]").check()
    check.locator("input[name=muted]").check()
    join(bob)

    # Ann's tile of Bob says both; Bob captures nothing though he is in the call.
    bobs_tile = tile(ann, bob)
    expect(bobs_tile).to_have_attribute("data-muted", "true")
    expect(bobs_tile).to_have_attribute("data-camera-off", "true")
    expect(bobs_tile.get_by_test_id("tile-mic-off")).to_be_visible()
    expect(bobs_tile.get_by_test_id("tile-camera-off")).to_be_visible()
    wait_until_video_plays(bob, user_id(ann), 20_000)
    expect(tile(bob, ann)).to_have_attribute("data-muted", "false")
    expect(tile(bob, ann)).to_have_attribute("data-camera-off", "false")
    assert bob.evaluate(LIVE_KINDS) == []
    expect(bobs_tile).not_to_have_class("speaking")
    ann.get_by_test_id("space-canvas").focus()
    ann.screenshot(path=artefacts / "call-muted.png")

    # Bob unmutes: the microphone starts, Ann's tile changes, and his (fake) voice beeps.
    bob.get_by_test_id("mic-toggle").click()
    expect(bobs_tile).to_have_attribute("data-muted", "false")
    expect(bobs_tile.get_by_test_id("tile-mic-off")).to_be_hidden()
    expect(bobs_tile).to_have_attribute("data-camera-off", "true")
    bob.wait_for_function(f"() => ({LIVE_KINDS})().join() === 'audio'")
    ann.wait_for_function(
        '(id) => document.querySelector(`[data-testid=video-tile][data-user-id="${id}"]`)'
        ".classList.contains('speaking')",
        arg=user_id(bob),
        polling=30,
        timeout=20_000,
    )
    # Bob turns his camera on: Ann sees it.
    bob.get_by_test_id("camera-toggle").click()
    expect(bobs_tile).to_have_attribute("data-camera-off", "false")
    wait_until_video_plays(ann, user_id(bob), 20_000)
    # Muted again: his microphone's track stops.
    bob.get_by_test_id("mic-toggle").click()
    expect(bobs_tile).to_have_attribute("data-muted", "true")
    bob.wait_for_function(f"() => ({LIVE_KINDS})().join() === 'video'")


def test_a_pinned_tile_fullscreen_and_a_shared_screen_opening_large(
    platform: Platform, signed_up_page: SignedUpPage, artefacts: Path
) -> None:
    ann, bob = signed_up_page(), signed_up_page()
    ann.set_viewport_size({"width": 1280, "height": 720})
    space_id = small_space(platform, ann, "Big view")
    for page in (ann, bob):
        page.goto(f"/spaces/{space_id}")
        join(page)
    wait_until_video_plays(ann, user_id(bob), 20_000)

    # A click pins Bob's tile large over the map.
    pinned = ann.get_by_test_id("pinned-view")
    expect(pinned).to_be_hidden()
    tile(ann, bob).click()
    expect(pinned).to_be_visible()
    expect(pinned).to_have_attribute("data-user-id", user_id(bob))
    ann.wait_for_function(
        "() => document.querySelector('[data-testid=pinned-video]').videoWidth > 0"
    )
    box = pinned.bounding_box()
    assert box is not None and box["width"] > 800 and box["height"] > 500, box
    ann.screenshot(path=artefacts / "pinned-tile.png")
    # Fullscreen, then Escape twice: out of fullscreen, then back to the map.
    ann.get_by_test_id("pinned-fullscreen").click()
    ann.wait_for_function("() => document.fullscreenElement?.dataset.testid === 'pinned-view'")
    ann.keyboard.press("Escape")
    ann.wait_for_function("() => document.fullscreenElement === null")
    expect(pinned).to_be_visible()
    ann.keyboard.press("Escape")
    expect(pinned).to_be_hidden()

    # Bob shares his screen: it opens large for Ann by itself, and closes when he stops.
    share = bob.get_by_test_id("share-toggle")
    share.click()
    expect(share).to_have_attribute("aria-pressed", "true")
    expect(pinned).to_be_visible()
    expect(pinned).to_have_attribute("data-user-id", user_id(bob))
    expect(tile(ann, bob)).to_have_attribute("data-screen", "true")
    ann.wait_for_function(
        """() => {
          const v = document.querySelector('[data-testid=pinned-video]');
          return v.videoHeight > 0 && Math.abs(v.videoWidth / v.videoHeight - 4 / 3) > 0.1;
        }"""
    )
    ann.screenshot(path=artefacts / "pinned-screen.png")
    share.click()
    expect(pinned).to_be_hidden()
