"""Running a space and the platform from the browser: the space settings screen (name,
visibility, members, invite links), the lobby card menu (rename, delete with a
confirmation naming the space), /admin/users (disabling an account signs its open space
out), and a display name changed inside the space reaching the other browser at once."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import Platform, SignedUpPage, sign_up
from tests.e2e.world import enter, user_id

SMALL_VIEWPORT = {"width": 1280, "height": 720}


def token_of(page: Page) -> str:
    token: str = page.account.token  # type: ignore[attr-defined]
    return token


def username_of(page: Page) -> str:
    username: str = page.account.username  # type: ignore[attr-defined]
    return username


def person(page: Page, other: Page) -> Locator:
    return page.locator(f"[data-testid=person][data-user-id='{user_id(other)}']")


def test_the_owner_runs_a_space_from_its_settings_screen(
    platform: Platform, signed_up_page: SignedUpPage, artefacts: Path
) -> None:
    ann, bob, cleo = signed_up_page(), signed_up_page(), signed_up_page()
    owner = token_of(ann)
    platform.api("PATCH", "/user/me", {"displayName": "Ann Lee"}, owner)
    platform.api("PATCH", "/user/me", {"displayName": "Bob Ng"}, token_of(bob))
    space_id = platform.api("POST", "/space", {"name": "Team room", "dimensions": "14x9"}, owner)[
        "spaceId"
    ]
    platform.api("POST", f"/space/{space_id}/members", {"userId": user_id(bob)}, owner)
    # Bob is a member; Cleo just walked into the public space.
    enter(bob, space_id)
    enter(cleo, space_id)

    ann.set_viewport_size(SMALL_VIEWPORT)  # type: ignore[arg-type]
    ann.goto(f"/spaces/{space_id}/settings")
    form = ann.get_by_test_id("settings-form")
    expect(form.locator("input[name=name]")).to_have_value("Team room")
    expect(form.locator("select[name=visibility]")).to_have_value("public")
    expect(form.locator("input[name=guests]")).not_to_be_checked()
    form.locator("input[name=name]").fill("Design studio")
    form.locator("select[name=visibility]").select_option("private")
    form.get_by_role("button", name="Save changes").click()
    expect(ann.get_by_test_id("settings-status")).to_have_text("Saved.")
    space = platform.api("GET", f"/space/{space_id}", token=owner)
    assert (space["name"], space["visibility"]) == ("Design studio", "private")

    # Private now: Cleo, no member, is sent out at once; Bob stays.
    expect(cleo.get_by_test_id("space-error")).to_have_attribute("data-reason", "access_revoked")
    expect(bob.get_by_test_id("space-screen")).to_have_attribute("data-connection", "connected")

    # An invite link to copy, as /invite/<token>.
    invites = ann.get_by_test_id("settings-invites")
    invites.get_by_test_id("invite-create").click()
    expect(invites.get_by_test_id("invite")).to_have_count(1)
    assert "/invite/" in invites.get_by_test_id("invite-url").input_value()
    invites.get_by_test_id("invite-create").click()
    expect(invites.get_by_test_id("invite")).to_have_count(2)

    # Bob becomes a moderator, and back.
    bob_row = ann.locator(f"[data-testid=member][data-user-id='{user_id(bob)}']")
    bob_row.get_by_test_id("member-role").select_option("moderator")
    expect(bob_row).to_have_attribute("data-role", "moderator")
    ann.mouse.move(0, 0)
    ann.screenshot(path=str(artefacts / "settings.png"))
    bob_row = ann.locator(f"[data-testid=member][data-user-id='{user_id(bob)}']")
    bob_row.get_by_test_id("member-role").select_option("member")
    expect(bob_row).to_have_attribute("data-role", "member")

    # One link revoked.
    invites.get_by_test_id("invite-revoke").first.click()
    expect(invites.get_by_test_id("invite")).to_have_count(1)

    # Bob removed: his open space closes, saying why.
    bob_row.get_by_test_id("member-remove").click()
    dialog = ann.get_by_test_id("confirm-remove")
    expect(dialog).to_contain_text("Bob Ng")
    dialog.get_by_role("button", name="Remove").click()
    expect(ann.get_by_test_id("member")).to_have_count(1)
    expect(bob.get_by_test_id("space-error")).to_have_attribute("data-reason", "access_revoked")

    # Someone who only visits is told whom to ask.
    cleo.goto(f"/spaces/{space_id}/settings")
    expect(cleo.get_by_test_id("settings-forbidden")).to_contain_text("owner and moderators")


def test_a_space_is_renamed_and_deleted_from_its_lobby_card(
    platform: Platform, signed_up_page: SignedUpPage
) -> None:
    ann, bob = signed_up_page(), signed_up_page()
    space_id = platform.api(
        "POST", "/space", {"name": "Old attic", "dimensions": "8x6"}, token_of(ann)
    )["spaceId"]
    platform.api("POST", f"/space/{space_id}/members", {"userId": user_id(bob)}, token_of(ann))
    ann.goto("/")
    card = ann.locator(f"[data-testid=space-card][data-space-id='{space_id}']")
    card.get_by_test_id("space-card-menu").click()
    expect(card.get_by_role("menuitem")).to_have_text(
        ["Settings", "Rename…", "Copy link", "Delete…"]
    )
    card.get_by_test_id("space-card-rename").click()
    rename = ann.get_by_test_id("rename-space")
    rename.locator("input").fill("Roof terrace")
    rename.get_by_role("button", name="Save").click()
    expect(card.locator(".space-name")).to_have_text("Roof terrace")

    # A member's card has no delete.
    bob.goto("/")
    bob_card = bob.locator(f"[data-testid=space-card][data-space-id='{space_id}']")
    bob_card.get_by_test_id("space-card-menu").click()
    expect(bob_card.get_by_role("menuitem")).to_have_text(["Copy link"])
    bob_card.get_by_test_id("space-card-copy").click()
    expect(bob.get_by_test_id("lobby-status")).to_be_visible()

    # Deleting asks for the name; a wrong one does nothing.
    card.get_by_test_id("space-card-menu").click()
    card.get_by_test_id("space-card-delete").click()
    dialog = ann.get_by_test_id("confirm-delete")
    expect(dialog).to_contain_text("Roof terrace")
    confirm = dialog.get_by_role("button", name="Delete space")
    dialog.locator("input[name=confirm]").fill("Roof")
    expect(confirm).to_be_disabled()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert any(
        s["id"] == space_id
        for s in platform.api("GET", "/space/all", token=token_of(ann))["spaces"]
    )
    card.get_by_test_id("space-card-menu").click()
    card.get_by_test_id("space-card-delete").click()
    dialog.locator("input[name=confirm]").fill("Roof terrace")
    confirm.click()
    expect(card).to_have_count(0)
    expect(ann.get_by_test_id("lobby-status")).to_contain_text("was deleted")
    assert platform.api("GET", "/space/all", token=token_of(ann))["spaces"] == []


def test_an_admin_disables_an_account_and_its_open_space_signs_out(
    platform: Platform, signed_up_page: SignedUpPage, artefacts: Path
) -> None:
    admin = signed_up_page(admin=True)
    dan = signed_up_page()
    platform.api("PATCH", "/user/me", {"displayName": "Grace Brook"}, token_of(admin))
    platform.api("PATCH", "/user/me", {"displayName": "Dan Brook"}, token_of(dan))
    for name in ("Erin Brook", "Finn Brook"):
        platform.api("PATCH", "/user/me", {"displayName": name}, sign_up(platform).token)
    space_id = platform.api(
        "POST", "/space", {"name": "Hall", "dimensions": "10x6"}, token_of(dan)
    )["spaceId"]
    enter(dan, space_id)

    admin.set_viewport_size(SMALL_VIEWPORT)  # type: ignore[arg-type]
    admin.goto("/")
    admin.get_by_test_id("nav-users").click()
    expect(admin.get_by_test_id("admin-users")).to_be_visible()
    # The search finds display names whatever their case (and usernames).
    admin.get_by_test_id("users-search").fill("brook")
    rows = admin.get_by_test_id("user-row")
    expect(rows).to_have_count(4)
    expect(rows.filter(has_text="Dan Brook")).to_have_count(1)
    admin.get_by_test_id("users-search").fill(username_of(dan).upper())
    expect(rows).to_have_count(1)
    admin.get_by_test_id("users-search").fill("brook")
    expect(rows).to_have_count(4)

    finn = rows.filter(has_text="Finn Brook")
    finn.get_by_test_id("user-role-toggle").click()
    admin.get_by_test_id("confirm-role").get_by_role("button", name="Make admin").click()
    expect(finn).to_have_attribute("data-role", "admin")

    row = admin.locator(f"[data-testid=user-row][data-user-id='{user_id(dan)}']")
    row.get_by_test_id("user-disable-toggle").click()
    dialog = admin.get_by_test_id("confirm-disable")
    expect(dialog).to_contain_text(username_of(dan))
    dialog.get_by_role("button", name="Disable account").click()
    expect(row).to_have_attribute("data-disabled", "true")

    error = dan.get_by_test_id("space-error")
    expect(error).to_have_attribute("data-reason", "account_disabled")
    expect(error).to_contain_text("Signed out")

    # The admin can't disable themselves.
    me = admin.locator(f"[data-testid=user-row][data-user-id='{user_id(admin)}']")
    expect(me.get_by_test_id("user-disable-toggle")).to_be_disabled()
    admin.mouse.move(0, 0)
    admin.screenshot(path=str(artefacts / "admin-users.png"))

    # Dan's session is over: the lobby sends him to sign in.
    dan.get_by_test_id("space-error-lobby").click()
    expect(dan).to_have_url(re.compile(r"/login"))


def test_a_new_display_name_inside_the_space_reaches_the_other_browser(
    platform: Platform, signed_up_page: SignedUpPage
) -> None:
    ann, bob = signed_up_page(), signed_up_page()
    # Two columns of cells, three rows: everyone who enters stands within the call radius.
    space_id = platform.api(
        "POST", "/space", {"name": "Booth", "dimensions": "2x3"}, token_of(ann)
    )["spaceId"]
    enter(ann, space_id)
    enter(bob, space_id)
    expect(bob.locator(f"video[data-user-id='{user_id(ann)}']")).to_have_count(1)

    ann.get_by_test_id("edit-profile").click()
    dialog = ann.get_by_test_id("profile-dialog")
    dialog.locator("input[name=displayName]").fill("Captain Ann")
    dialog.locator("input[name=statusText]").fill("on deck")
    dialog.locator("input[name=avatarId]").first.check(force=True)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0)

    expect(person(bob, ann)).to_contain_text("Captain Ann")
    expect(person(bob, ann)).to_contain_text("on deck")
    tile = bob.locator(f"[data-testid=video-tile][data-user-id='{user_id(ann)}']")
    expect(tile.locator(".video-name")).to_have_text("Captain Ann")
    expect(person(ann, ann)).to_contain_text("Captain Ann")
    expect(ann.get_by_test_id("current-user")).to_contain_text("Captain Ann")
    assert platform.api("GET", "/user/me", token=token_of(ann))["displayName"] == "Captain Ann"
