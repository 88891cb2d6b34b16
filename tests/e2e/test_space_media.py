"""A refused camera: a clear message, and the call goes on with what is available."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import Platform, SignedUpPage
from tests.e2e.world import enter, user_id, wait_until_video_plays

# The browser answers every request that includes a camera as a user who clicked "Block".
CAMERA_BLOCKED = """(() => {
  const devices = navigator.mediaDevices;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints) =>
    constraints && constraints.video
      ? Promise.reject(new DOMException("Permission denied", "NotAllowedError"))
      : original(constraints);
})()"""


def test_a_blocked_camera_is_explained_and_the_call_goes_on(
    platform: Platform, signed_up_page: SignedUpPage
) -> None:
    ann = signed_up_page()
    bob = signed_up_page()
    bob.add_init_script(CAMERA_BLOCKED)
    token = ann.account.token  # type: ignore[attr-defined]
    # 3 by 2 tiles: wherever the two spawn, they are within the proximity radius.
    space_id = platform.api(
        "POST", "/space", {"name": "Small", "dimensions": "3x2", "visibility": "public"}, token
    )["spaceId"]
    enter(ann, space_id)
    enter(bob, space_id)

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
