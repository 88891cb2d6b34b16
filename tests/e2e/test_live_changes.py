"""Changes made through the API show in an open space at once: a new name, a new wall, a
member removed, the space deleted."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Platform, SignedUpPage
from tests.e2e.world import enter, position, user_id


def token_of(page: Page) -> str:
    token: str = page.account.token  # type: ignore[attr-defined]
    return token


def test_names_walls_and_the_end_of_a_space_arrive_live(
    platform: Platform, signed_up_page: SignedUpPage
) -> None:
    ann = signed_up_page(admin=True)
    bob = signed_up_page()
    owner = token_of(ann)
    space_id = platform.api(
        "POST", "/space", {"name": "Live", "dimensions": "12x8", "visibility": "private"}, owner
    )["spaceId"]
    platform.api("POST", f"/space/{space_id}/members", {"userId": user_id_of(bob)}, owner)
    enter(ann, space_id)
    enter(bob, space_id)
    bob_in_ann = ann.locator(f"[data-testid=person][data-user-id='{user_id(bob)}']")
    expect(bob_in_ann).to_be_visible()

    # Bob renames himself (from anywhere): Ann's list shows it without re-entering.
    platform.api("PATCH", "/user/me", {"displayName": "Bob the Builder"}, token_of(bob))
    expect(bob_in_ann).to_contain_text("Bob the Builder")

    # Ann places a wall right of Bob: his next step that way is refused on the spot.
    x, y = position(bob)
    wall_x = x + 1 if x + 1 < 12 else x - 1
    key = "ArrowRight" if wall_x > x else "ArrowLeft"
    element_id = platform.api(
        "POST",
        "/admin/element",
        {"imageUrl": "/assets/elements/plant.svg", "width": 1, "height": 1, "static": True},
        owner,
    )["id"]
    platform.api(
        "POST",
        "/space/element",
        {"elementId": element_id, "spaceId": space_id, "x": wall_x, "y": y},
        owner,
    )
    canvas = bob.get_by_test_id("space-canvas")
    canvas.focus()
    bob.wait_for_timeout(500)  # map-changed arrives
    bob.keyboard.press(key)
    bob.wait_for_timeout(300)
    assert position(bob) == (x, y)

    # Removed from the members of a private space: Bob is out, with a reason.
    platform.api("DELETE", f"/space/{space_id}/members", {"userId": user_id_of(bob)}, owner)
    error = bob.get_by_test_id("space-error")
    expect(error).to_have_attribute("data-reason", "access_revoked")
    expect(ann.get_by_test_id("person")).to_have_count(1)

    # The space deleted under Ann: she is told so.
    platform.api("DELETE", f"/space/{space_id}", token=owner)
    error = ann.get_by_test_id("space-error")
    expect(error).to_have_attribute("data-reason", "space_deleted")
    expect(error).to_contain_text("deleted")


def user_id_of(page: Page) -> str:
    account_id: str = page.account.user_id  # type: ignore[attr-defined]
    return account_id
