"""Invite links and guests in a real browser: a person invited by link into a private space
signs up on the invite page and meets its owner in a call; a guest enters a space that lets
guests in with a name only, calls and chats; links that can't be used say why."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage, Platform, SignedUpPage, sign_up
from tests.e2e.world import (
    Cell,
    Grid,
    dress,
    join,
    send_chat,
    wait_until_video_plays,
    walk,
)

# On the free row between the desk rows of the demo office, two cells apart (in a call).
MEET_WEST: Cell = (12, 8)
MEET_EAST: Cell = (14, 8)


def _office(platform: Platform, token: str, name: str) -> tuple[str, Grid]:
    maps = platform.api("GET", "/maps", token=token)["maps"]
    map_id = next(m["id"] for m in maps if m["name"] == "Demo office")
    space_id = platform.api(
        "POST", "/space", {"name": name, "mapId": map_id, "visibility": "private"}, token
    )["spaceId"]
    grid = Grid(platform.api("GET", f"/space/{space_id}", token=token))
    assert grid.free(MEET_WEST) and grid.free(MEET_EAST)
    return space_id, grid


def _connected(page: Page) -> str:
    """Wait until the page is in its space; the user id it is there as."""
    expect(page.get_by_test_id("space-screen")).to_have_attribute("data-connection", "connected")
    canvas = page.get_by_test_id("space-canvas")
    expect(canvas).not_to_have_attribute("data-x", "")
    return str(canvas.get_attribute("data-user-id"))


def _meet(grid: Grid, first: Page, second: Page) -> tuple[str, str]:
    first_id, second_id = _connected(first), _connected(second)
    walk(first, grid, MEET_WEST)
    walk(second, grid, MEET_EAST)
    wait_until_video_plays(first, second_id, 10_000)
    wait_until_video_plays(second, first_id, 10_000)
    return first_id, second_id


def test_a_person_invited_by_link_signs_up_and_meets_the_owner_in_a_call(
    platform: Platform, signed_up_page: SignedUpPage, new_page: NewPage, artefacts: Path
) -> None:
    owner = signed_up_page()
    token = owner.account.token  # type: ignore[attr-defined]
    dress(platform, owner, "Olga Berg", "Ada")
    space_id, grid = _office(platform, token, "Design studio")
    invite = platform.api(
        "POST", f"/space/{space_id}/invites", {"role": "member", "maxUses": 5}, token
    )
    assert invite["url"] == f"{platform.url}/invite/{invite['token']}"

    guest = new_page()
    guest.goto(f"/invite/{invite['token']}")
    panel = guest.get_by_test_id("invite")
    expect(panel.get_by_test_id("invite-space")).to_have_text("Design studio")
    expect(panel.get_by_test_id("invite-role")).to_have_attribute("data-role", "member")
    guest.get_by_test_id("username").fill("newcomer1")
    guest.get_by_test_id("password").fill("a good password")
    guest.screenshot(path=artefacts / "invite.png")
    guest.get_by_test_id("invite-submit").click()

    expect(guest).to_have_url(f"{platform.url}/spaces/{space_id}")
    join(guest)
    owner.goto(f"/spaces/{space_id}")
    join(owner)
    owner_id, newcomer_id = _meet(grid, owner, guest)
    members = platform.api("GET", f"/space/{space_id}/members", token=token)["members"]
    assert {m["userId"]: m["role"] for m in members}[newcomer_id] == "member"
    expect(owner.locator(f'video[data-user-id="{newcomer_id}"]')).to_be_visible()
    assert owner_id != newcomer_id


def test_an_invite_is_accepted_by_signing_in_on_its_page_or_with_one_click(
    platform: Platform, signed_up_page: SignedUpPage, new_page: NewPage
) -> None:
    owner = signed_up_page()
    token = owner.account.token  # type: ignore[attr-defined]
    space_id, _ = _office(platform, token, "Back office")
    link = platform.api("POST", f"/space/{space_id}/invites", {"role": "moderator"}, token)
    # Someone with an account signs in on the invite page.
    account = sign_up(platform)
    page = new_page()
    page.goto(f"/invite/{link['token']}")
    expect(page.get_by_test_id("invite-role")).to_have_text("Join as a moderator.")
    page.get_by_test_id("invite-switch").click()
    expect(page.get_by_test_id("invite-form")).to_have_attribute("data-mode", "signin")
    page.get_by_test_id("username").fill(account.username)
    page.get_by_test_id("password").fill(account.password)
    page.get_by_test_id("invite-submit").click()
    expect(page).to_have_url(f"{platform.url}/spaces/{space_id}")
    expect(page.get_by_test_id("device-check")).to_be_visible()
    # Someone signed in already accepts with one click.
    signed_in = signed_up_page()
    signed_in.goto(f"/invite/{link['token']}")
    signed_in.get_by_test_id("invite-accept").click()
    expect(signed_in).to_have_url(f"{platform.url}/spaces/{space_id}")
    members = platform.api("GET", f"/space/{space_id}/members", token=token)["members"]
    roles = {m["userId"]: m["role"] for m in members}
    assert roles[account.user_id] == "moderator"
    assert roles[signed_in.account.user_id] == "moderator"  # type: ignore[attr-defined]


def test_links_that_cannot_be_used_say_why(
    platform: Platform, signed_up_page: SignedUpPage, new_page: NewPage, artefacts: Path
) -> None:
    owner = signed_up_page()
    token = owner.account.token  # type: ignore[attr-defined]
    space_id, _ = _office(platform, token, "Closed room")
    used = platform.api("POST", f"/space/{space_id}/invites", {"maxUses": 1}, token)["token"]
    platform.api("POST", f"/invites/{used}/accept", None, token)
    revoked = platform.api("POST", f"/space/{space_id}/invites", {}, token)["token"]
    platform.api("DELETE", f"/space/{space_id}/invites/{revoked}", None, token)
    page = new_page()
    for link, reason, title in (
        (used, "invite_used_up", "This invite link has been used up"),
        (revoked, "invite_revoked", "This invite link was revoked"),
        ("not-a-real-token", "unknown_invite", "This invite link doesn't exist"),
    ):
        page.goto(f"/invite/{link}")
        expect(page.get_by_test_id("invite-unusable")).to_have_attribute("data-reason", reason)
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
    page.goto(f"/invite/{used}")
    expect(page.get_by_test_id("invite-unusable")).to_be_visible()
    page.screenshot(path=artefacts / "invite-used-up.png")


def test_a_guest_enters_with_a_name_calls_and_chats(
    platform: Platform, signed_up_page: SignedUpPage, new_page: NewPage, artefacts: Path
) -> None:
    owner = signed_up_page()
    token = owner.account.token  # type: ignore[attr-defined]
    dress(platform, owner, "Olga Berg", "Ada")
    space_id, grid = _office(platform, token, "Open day")
    platform.api("PATCH", f"/space/{space_id}", {"guests": True}, token)

    guest = new_page()
    guest.goto(f"/spaces/{space_id}")
    entry = guest.get_by_test_id("guest-entry")
    expect(entry).to_contain_text("Open day")
    guest.get_by_test_id("guest-name").fill("Vera Visitor")
    guest.screenshot(path=artefacts / "guest-entry.png")
    guest.get_by_test_id("guest-submit").click()
    join(guest)
    owner.goto(f"/spaces/{space_id}")
    join(owner)
    _, guest_id = _meet(grid, owner, guest)

    person = owner.locator(f'[data-testid=person][data-user-id="{guest_id}"]')
    expect(person).to_contain_text("Vera Visitor")
    expect(person.get_by_test_id("person-guest")).to_have_text("Guest")
    send_chat(guest, "hello from a guest")
    expect(owner.get_by_test_id("chat-log")).to_contain_text("hello from a guest")
    send_chat(owner, "welcome, Vera")
    expect(guest.get_by_test_id("chat-log")).to_contain_text("welcome, Vera")
    owner.wait_for_function(
        "() => [...document.querySelectorAll('video[data-user-id]')].every(v => v.videoWidth > 0)"
    )
    owner.get_by_test_id("space-canvas").focus()
    owner.screenshot(path=artefacts / "guest-in-call.png")

    # A reload keeps the visit (the tab holds the guest token); other pages stay closed.
    guest.reload()
    join(guest)
    assert _connected(guest) == guest_id
    guest.goto("/")
    expect(guest).to_have_url(f"{platform.url}/login")

    # When the guest token is about to expire, the visit ends and the entry comes back.
    guest.evaluate(
        """(spaceId) => {
          const key = `metaverse.guest.${spaceId}`;
          const visit = JSON.parse(sessionStorage.getItem(key));
          sessionStorage.setItem(key, JSON.stringify({ ...visit, expiresAt: Date.now() + 32000 }));
        }""",
        space_id,
    )
    guest.goto(f"/spaces/{space_id}")
    join(guest)
    expect(guest.get_by_test_id("guest-notice")).to_have_text(
        "Your guest visit has ended. Enter again to come back.", timeout=10_000
    )
    expect(guest.get_by_test_id("guest-form")).to_be_visible()
