"""The browser client through nginx in front of several gateways (`scripts/cluster.sh`):
two people on different gateways meet in a call, and a rolling restart of every gateway,
one at a time, keeps their call up and loses no chat."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.cluster import GATEWAYS, Cluster, http, running_cluster, script
from tests.e2e.conftest import VIEWPORT, Account, store_tokens
from tests.e2e.world import (
    Grid,
    join,
    position,
    send_chat,
    user_id,
    wait_until_video_plays,
    walk,
)

# After a restart, the clients reconnect and the call's media keeps flowing.
RECONNECT_MS = 20_000
VIDEO_MS = 20_000


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster")) as started:
        yield started


OpenPage = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser, cluster: Cluster) -> Iterator[OpenPage]:
    contexts: list[BrowserContext] = []

    def open_(account: Account, gateway: int | None = None) -> Page:
        context = browser.new_context(
            base_url=cluster.url,
            viewport=VIEWPORT,  # type: ignore[arg-type]
            permissions=["camera", "microphone"],
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        if gateway is not None:
            status, config = http("GET", f"{cluster.url}/api/v1/config")
            assert status == 200, config
            pinned = {**config, "gatewayUrl": f"{config['gatewayUrl']}?gateway={gateway}"}

            def pin(route: Route) -> None:
                route.fulfill(json=pinned)

            page.route("**/api/v1/config", pin)
        store_tokens(page, account)
        page.account = account  # type: ignore[attr-defined]
        return page

    yield open_
    for context in contexts:
        context.close()


def account(cluster: Cluster) -> Account:
    username = f"c{secrets.token_hex(5)}"
    password = secrets.token_urlsafe(12)
    body = {"username": username, "password": password, "type": "user"}
    status, created = http("POST", f"{cluster.url}/api/v1/signup", body)
    assert status == 200, created
    status, tokens = http(
        "POST", f"{cluster.url}/api/v1/signin", {"username": username, "password": password}
    )
    assert status == 200, tokens
    return Account(
        username,
        password,
        created["userId"],
        tokens["token"],
        tokens["refreshToken"],
        tokens["expiresIn"],
    )


def meet(cluster: Cluster, ann: Page, bob: Page) -> tuple[str, str]:
    """Both enter one new space and ann walks up to bob: the call's id, and its space."""
    owner = ann.account.token  # type: ignore[attr-defined]
    status, body = http(
        "POST", f"{cluster.url}/api/v1/space", {"name": "Cluster", "dimensions": "12x8"}, owner
    )
    assert status == 200, body
    space_id: str = body["spaceId"]
    status, space = http("GET", f"{cluster.url}/api/v1/space/{space_id}", token=owner)
    assert status == 200, space
    for page in (ann, bob):
        page.goto(f"/spaces/{space_id}")
        join(page)
        expect(page.get_by_test_id("space-screen")).to_have_attribute(
            "data-connection", "connected"
        )
        expect(page.get_by_test_id("space-canvas")).not_to_have_attribute("data-x", "")
    x, y = position(bob)
    walk(ann, Grid(space), (x - 1, y) if x > 0 else (x + 1, y))
    screens = [page.get_by_test_id("space-screen") for page in (ann, bob)]
    for screen in screens:
        expect(screen).not_to_have_attribute("data-call-id", "")
    call_id = screens[0].get_attribute("data-call-id")
    assert call_id and screens[1].get_attribute("data-call-id") == call_id
    wait_until_video_plays(ann, user_id(bob), VIDEO_MS)
    wait_until_video_plays(bob, user_id(ann), VIDEO_MS)
    return call_id, space_id


def test_two_people_pinned_to_different_gateways_meet_in_a_call(
    cluster: Cluster, open_page: OpenPage
) -> None:
    ann = open_page(account(cluster), gateway=1)
    bob = open_page(account(cluster), gateway=2)
    meet(cluster, ann, bob)
    send_chat(ann, "hello across gateways")
    expect(
        bob.locator('[data-testid=chat-message] >> text="hello across gateways"')
    ).to_be_visible()


def test_a_rolling_restart_of_every_gateway_keeps_the_call_up_and_loses_no_chat(
    cluster: Cluster, open_page: OpenPage, artefacts: Path
) -> None:
    ann, bob = open_page(account(cluster)), open_page(account(cluster))
    call_id, _ = meet(cluster, ann, bob)
    # Each remote video tile is marked: a call that fell and re-formed would replace it.
    for page, other in ((ann, bob), (bob, ann)):
        page.locator(f"video[data-user-id='{user_id(other)}']").evaluate(
            "video => { video.dataset.kept = 'yes'; }"
        )
    for number, name in enumerate(GATEWAYS, start=1):
        done = script(cluster.env, "restart", name)
        assert done.returncode == 0, done.stderr
        for page, other in ((ann, bob), (bob, ann)):
            screen = page.get_by_test_id("space-screen")
            expect(screen).to_have_attribute("data-connection", "connected", timeout=RECONNECT_MS)
            expect(screen).to_have_attribute("data-call-id", call_id or "")
            tile = page.locator(f"video[data-user-id='{user_id(other)}']")
            expect(tile).to_have_attribute("data-kept", "yes")
            tile.evaluate("video => { delete video.dataset.t0; }")
            wait_until_video_plays(page, user_id(other), VIDEO_MS)
        text = f"after restarting {name} ({number})"
        send_chat(ann, text)
        expect(bob.locator(f'[data-testid=chat-message] >> text="{text}"')).to_be_visible()
    ann.screenshot(path=str(artefacts / "cluster-call-after-rolling-restart.png"))
