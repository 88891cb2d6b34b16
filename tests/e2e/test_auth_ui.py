"""Signing up, out and in through the browser client's own forms."""

from __future__ import annotations

import re
import secrets
import time
import urllib.error

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage, Platform, SignedUpPage, sign_up

TOKEN_KEYS = ("metaverse.token", "metaverse.refreshToken", "metaverse.tokenExpiresAt")


def stored_tokens(page: Page) -> list[str | None]:
    return [page.evaluate("key => localStorage.getItem(key)", key) for key in TOKEN_KEYS]


def fill_credentials(page: Page, username: str, password: str) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")  # the forms submit on Enter


def test_sign_up_land_in_lobby_sign_out_and_sign_in_again(
    new_page: NewPage, platform: Platform
) -> None:
    page = new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_test_id("to-signup").click()
    expect(page).to_have_url(re.compile(r"/signup$"))

    username = f"ui{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    fill_credentials(page, username, password)

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("lobby")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_contain_text(username)
    token, refresh, expires_at = stored_tokens(page)
    assert token and refresh and expires_at
    me = platform.api("GET", "/user/me", token=token)
    assert me["username"] == username

    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    assert stored_tokens(page) == [None, None, None]
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    # The refresh token was revoked on the server, not only forgotten by the page.
    with pytest.raises(urllib.error.HTTPError) as refused:
        platform.api("POST", "/token/refresh", {"refreshToken": refresh})
    refused.value.close()  # an HTTPError holds the response's socket open
    assert refused.value.code == 401

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    fill_credentials(page, username, password)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("current-user")).to_contain_text(username)


def test_wrong_password_shows_an_error_and_signs_nobody_in(
    new_page: NewPage, platform: Platform
) -> None:
    account = sign_up(platform)
    page = new_page()
    page.goto("/login")
    fill_credentials(page, account.username, account.password + "-wrong")
    error = page.get_by_test_id("auth-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("wrong username or password")
    expect(page).to_have_url(re.compile(r"/login$"))
    assert stored_tokens(page) == [None, None, None]


def test_sign_up_shows_the_servers_password_rule(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/signup")
    fill_credentials(page, f"ui{secrets.token_hex(4)}", "abc")
    error = page.get_by_test_id("auth-error")
    expect(error).to_contain_text("at least 6 characters")
    expect(page).to_have_url(re.compile(r"/signup$"))
    assert stored_tokens(page) == [None, None, None]


def test_sign_up_with_a_taken_username_says_so(new_page: NewPage, platform: Platform) -> None:
    account = sign_up(platform)
    page = new_page()
    page.goto("/signup")
    fill_credentials(page, account.username, "another-password")
    expect(page.get_by_test_id("auth-error")).to_contain_text("taken")


def test_a_space_link_leads_through_sign_in_back_to_the_space(
    new_page: NewPage, platform: Platform
) -> None:
    account = sign_up(platform)
    space_id = platform.api(
        "POST", "/space", {"name": "Linked", "dimensions": "10x8"}, token=account.token
    )["spaceId"]
    page = new_page()
    page.goto(f"/spaces/{space_id}")
    expect(page).to_have_url(re.compile(rf"/login\?next=%2Fspaces%2F{space_id}$"))
    fill_credentials(page, account.username, account.password)
    expect(page).to_have_url(re.compile(rf"/spaces/{space_id}$"))


def test_reloading_keeps_the_screen_and_the_session(signed_up_page: SignedUpPage) -> None:
    page = signed_up_page()
    expect(page.get_by_test_id("lobby")).to_be_visible()
    page.get_by_test_id("nav-profile").click()
    expect(page).to_have_url(re.compile(r"/profile$"))
    page.reload()
    expect(page).to_have_url(re.compile(r"/profile$"))
    expect(page.get_by_test_id("profile-form")).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("lobby")).to_be_visible()


def test_the_access_token_refreshes_itself_before_it_expires(
    signed_up_page: SignedUpPage, platform: Platform
) -> None:
    page = signed_up_page()
    expect(page.get_by_test_id("lobby")).to_be_visible()
    old_token, old_refresh, _ = stored_tokens(page)
    # Pretend the token runs out in 61 s: the refresh is due in about one second.
    page.evaluate("localStorage.setItem('metaverse.tokenExpiresAt', String(Date.now() + 61000))")
    page.reload()
    page.wait_for_function(
        "old => localStorage.getItem('metaverse.refreshToken') !== old", arg=old_refresh
    )
    token, refresh, expires_at = stored_tokens(page)
    assert token and token != old_token
    assert refresh and refresh != old_refresh
    assert expires_at and int(expires_at) > int(time.time() * 1000) + 5 * 60_000
    assert platform.api("GET", "/user/me", token=token)["id"]
    expect(page.get_by_test_id("current-user")).to_be_visible()


def test_a_rejected_access_token_is_refreshed_and_the_request_retried(
    signed_up_page: SignedUpPage,
) -> None:
    page = signed_up_page()
    expect(page.get_by_test_id("lobby")).to_be_visible()
    _, old_refresh, _ = stored_tokens(page)
    # A token the server refuses (401) although the page thinks it is still fresh.
    page.evaluate("localStorage.setItem('metaverse.token', 'not-a-valid-token')")
    page.reload()
    expect(page.get_by_test_id("lobby")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_be_visible()
    token, refresh, _ = stored_tokens(page)
    assert token != "not-a-valid-token"
    assert refresh != old_refresh


def test_a_revoked_session_ends_at_the_sign_in_page(
    signed_up_page: SignedUpPage, platform: Platform
) -> None:
    page = signed_up_page()
    expect(page.get_by_test_id("lobby")).to_be_visible()
    _, refresh, _ = stored_tokens(page)
    platform.api("POST", "/signout", {"refreshToken": refresh})
    page.evaluate("localStorage.setItem('metaverse.token', 'not-a-valid-token')")
    page.goto("/profile")
    expect(page).to_have_url(re.compile(r"/login\?reason=expired&next=%2Fprofile$"))
    expect(page.get_by_test_id("auth-expired")).to_have_text("Your session expired; sign in again.")
    assert stored_tokens(page) == [None, None, None]


def test_where_admin_sign_up_is_open_the_form_offers_it(
    new_page: NewPage, platform: Platform
) -> None:
    assert platform.api("GET", "/config")["adminSignup"] == "open"
    page = new_page()
    page.goto("/signup")
    username = f"boss{secrets.token_hex(4)}"
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", secrets.token_urlsafe(12))
    page.get_by_test_id("signup-admin").check()
    page.press("input[name=password]", "Enter")
    expect(page.get_by_test_id("nav-editor")).to_be_visible()
    token = page.evaluate("localStorage.getItem('metaverse.token')")
    assert platform.api("GET", "/user/me", token=token)["role"] == "admin"
