"""The lobby and the profile screen, in a real browser."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Platform, SignedUpPage, sign_up
from tests.e2e.world import join


def token_of(page: Page) -> str:
    token: str = page.account.token  # type: ignore[attr-defined]
    return token


def demo_map(platform: Platform, token: str) -> dict[str, Any]:
    maps = platform.api("GET", "/maps", token=token)["maps"]
    found: dict[str, Any] = next(m for m in maps if m["name"] == "Demo office")
    return found


def test_create_a_space_from_the_demo_map_and_enter_it(
    signed_up_page: SignedUpPage, platform: Platform, artefacts: Path
) -> None:
    page = signed_up_page()
    token = token_of(page)
    office = demo_map(platform, token)
    # Someone else's public space shows under "Public spaces".
    other = sign_up(platform)
    platform.api(
        "POST", "/space", {"name": "Design studio", "dimensions": "30x20"}, token=other.token
    )

    page.reload()
    form = page.get_by_test_id("create-space-form")
    form.get_by_label("Name").fill("Team office")
    form.locator(f"[data-testid=map-option][data-map-id='{office['id']}']").click()
    form.get_by_test_id("create-space-submit").click()

    expect(page).to_have_url(re.compile(r"/spaces/[^/]+$"))
    space_id = page.url.rsplit("/", 1)[1]
    space = platform.api("GET", f"/space/{space_id}", token=token)
    assert space["name"] == "Team office"
    assert space["mapId"] == office["id"]
    assert space["dimensions"] == office["dimensions"]
    join(page)  # the device check opens first; then the space

    # A blank one too, private, so the lobby shows both kinds of card.
    platform.api(
        "POST",
        "/space",
        {"name": "Quiet corner", "dimensions": "12x10", "visibility": "private"},
        token=token,
    )
    page.get_by_test_id("nav-lobby").click()
    mine = page.get_by_test_id("section-mine")
    card = mine.locator(f"[data-testid=space-card][data-space-id='{space_id}']")
    expect(card).to_contain_text("Team office")
    expect(card).to_contain_text("40 \u00d7 30")
    expect(mine.get_by_test_id("space-card")).to_have_count(2)
    expect(mine.locator("[data-testid=space-card]", has_text="Quiet corner")).to_contain_text(
        "Private"
    )
    expect(page.get_by_test_id("section-public")).to_contain_text("Design studio")
    # The demo map's thumbnail loaded (a broken image would be swapped for a placeholder).
    thumbnail = card.locator("img")
    expect(thumbnail).to_have_count(1)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    page.screenshot(path=artefacts / "lobby.png")

    card.get_by_test_id("space-enter").click()
    expect(page).to_have_url(re.compile(rf"/spaces/{space_id}$"))


def test_a_blank_space_needs_valid_dimensions(
    signed_up_page: SignedUpPage, platform: Platform
) -> None:
    page = signed_up_page()
    form = page.get_by_test_id("create-space-form")
    form.get_by_label("Name").fill("Blank")
    form.get_by_test_id("map-option-blank").click()
    form.get_by_test_id("create-space-width").fill("0")
    form.get_by_test_id("create-space-submit").click()
    expect(page.get_by_test_id("create-space-error")).to_contain_text("1 to 9999")
    expect(page).to_have_url(re.compile(r"/$"))
    assert platform.api("GET", "/space/all", token=token_of(page))["spaces"] == []

    form.get_by_test_id("create-space-width").fill("15")
    form.get_by_test_id("create-space-height").fill("9")
    form.get_by_test_id("create-space-submit").click()
    expect(page).to_have_url(re.compile(r"/spaces/[^/]+$"))
    [space] = platform.api("GET", "/space/all", token=token_of(page))["spaces"]
    assert space["dimensions"] == "15x9"


def test_a_missing_thumbnail_shows_a_placeholder(
    signed_up_page: SignedUpPage, platform: Platform
) -> None:
    page = signed_up_page()
    platform.api("POST", "/space", {"name": "Nowhere", "dimensions": "5x5"}, token=token_of(page))
    page.reload()
    card = page.get_by_test_id("section-mine").get_by_test_id("space-card")
    expect(card.locator(".thumb-placeholder")).to_have_text("N")


def test_profile_changes_persist(signed_up_page: SignedUpPage, platform: Platform) -> None:
    page = signed_up_page()
    token = token_of(page)
    avatars = platform.api("GET", "/avatars", token=token)["avatars"]
    chosen = avatars[1]
    name = f"Ada {secrets.token_hex(2)}"

    page.get_by_test_id("nav-profile").click()
    form = page.get_by_test_id("profile-form")
    form.get_by_label("Display name").fill(name)
    form.locator(f"[data-testid=avatar-option][data-avatar-id='{chosen['id']}']").click()
    form.get_by_test_id("status-busy").click()
    form.get_by_label("Status text").fill("Writing the quarterly report")
    form.get_by_test_id("profile-save").click()
    expect(page.get_by_test_id("profile-status")).to_have_text("Profile saved.")
    expect(page.get_by_test_id("current-user")).to_contain_text(name)

    me = platform.api("GET", "/user/me", token=token)
    assert me["displayName"] == name
    assert me["avatarId"] == chosen["id"]
    assert me["status"] == "busy"
    assert me["statusText"] == "Writing the quarterly report"

    page.reload()
    form = page.get_by_test_id("profile-form")
    expect(form.get_by_label("Display name")).to_have_value(name)
    expect(form.get_by_label("Status text")).to_have_value("Writing the quarterly report")
    expect(form.locator(f"input[name=avatarId][value='{chosen['id']}']")).to_be_checked()
    expect(form.locator("input[name=status][value=busy]")).to_be_checked()

    # Emptying a text clears it.
    form.get_by_label("Status text").fill("")
    form.get_by_test_id("profile-save").click()
    expect(page.get_by_test_id("profile-status")).to_have_text("Profile saved.")
    assert platform.api("GET", "/user/me", token=token)["statusText"] is None


def test_the_avatar_can_be_chosen_with_the_keyboard(
    signed_up_page: SignedUpPage, platform: Platform
) -> None:
    page = signed_up_page()
    token = token_of(page)
    avatars = platform.api("GET", "/avatars", token=token)["avatars"]
    page.goto("/profile")
    first = page.locator("input[name=avatarId]").first
    first.focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    expect(page.locator(f"input[name=avatarId][value='{avatars[1]['id']}']")).to_be_checked()
    page.get_by_test_id("profile-save").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("profile-status")).to_have_text("Profile saved.")
    assert platform.api("GET", "/user/me", token=token)["avatarId"] == avatars[1]["id"]
