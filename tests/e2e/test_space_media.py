"""The camera and microphone: a refused camera gets a clear message and the call goes on
with what is available; leaving the space lets go of both."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Platform, SignedUpPage
from tests.e2e.world import enter, no_call, user_id, wait_until_video_plays

# The browser answers every request that includes a camera as a user who clicked "Block".
CAMERA_BLOCKED = """(() => {
  const devices = navigator.mediaDevices;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints) =>
    constraints && constraints.video
      ? Promise.reject(new DOMException("Permission denied", "NotAllowedError"))
      : original(constraints);
})()"""

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


def two_in_a_small_space(
    platform: Platform, signed_up_page: SignedUpPage, bobs_browser: str
) -> tuple[Page, Page]:
    """Ann and Bob (whose page runs `bobs_browser` first) in a public space of 3 by 2
    tiles: wherever they spawn, they are within the proximity radius."""
    ann = signed_up_page()
    bob = signed_up_page()
    bob.add_init_script(bobs_browser)
    token = ann.account.token  # type: ignore[attr-defined]
    body = {"name": "Small", "dimensions": "3x2", "visibility": "public"}
    space_id = platform.api("POST", "/space", body, token)["spaceId"]
    enter(ann, space_id)
    enter(bob, space_id)
    return ann, bob


def test_a_blocked_camera_is_explained_and_the_call_goes_on(
    platform: Platform, signed_up_page: SignedUpPage
) -> None:
    ann, bob = two_in_a_small_space(platform, signed_up_page, CAMERA_BLOCKED)

    # Bob is told what happened, in words, and is in the call all the same.
    notice = bob.get_by_test_id("notice-media")
    expect(notice).to_be_visible(timeout=10_000)
    expect(notice).to_contain_text("camera is blocked")
    expect(notice).to_contain_text("hear you")
    # He still sees Ann, and Ann has a tile for him (his voice, no picture).
    wait_until_video_plays(bob, user_id(ann), 10_000)
    expect(ann.locator(f'video[data-user-id="{user_id(bob)}"]')).to_have_count(1)
    ann.wait_for_function(
        """(id) => {
          const video = document.querySelector(`video[data-user-id="${id}"]`);
          return Boolean(video && video.srcObject && video.srcObject.getAudioTracks().length);
        }""",
        arg=user_id(bob),
        timeout=10_000,
    )


def test_leaving_a_space_lets_go_of_the_camera_and_microphone(
    platform: Platform, signed_up_page: SignedUpPage
) -> None:
    ann, bob = two_in_a_small_space(platform, signed_up_page, KEEP_TRACKS)
    wait_until_video_plays(ann, user_id(bob), 10_000)
    kinds = bob.evaluate(
        "() => window.mediaTracks.filter((t) => t.readyState === 'live').map((t) => t.kind)"
    )
    assert sorted(kinds) == ["audio", "video"]

    # Back to the lobby, in the same page: the camera light must go off.
    bob.get_by_test_id("back-to-lobby").click()
    expect(bob).to_have_url(f"{platform.url}/")
    bob.wait_for_function(
        "() => window.mediaTracks.every((t) => t.readyState === 'ended')", timeout=5_000
    )
    no_call(ann)
