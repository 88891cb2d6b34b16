"""Fixtures for the browser tests: a real `metaverse serve` and Debian's Chromium.

Playwright's own browser download can't work here, so the tests drive `/usr/bin/chromium`
(installed by `scripts/chromium.sh`) with a fake camera and microphone. Missing Chromium
skips these tests locally and fails them under CI=true, like every other service.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.loopback import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "test-artefacts" / "e2e"
VIEWPORT = {"width": 1280, "height": 800}
STARTUP_TIMEOUT_S = 60.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse to run beside the other tests: Playwright's sync API keeps an event loop
    running in the worker while the browser is open, and the asyncio tests then fail."""
    e2e = Path(__file__).parent
    if any(e2e in item.path.parents for item in items) and any(
        e2e not in item.path.parents for item in items
    ):
        raise pytest.UsageError(
            "run the browser tests on their own: `make e2e` or `pytest tests/e2e`; "
            "`make pytest` runs the rest"
        )


def require(path: Path, what: str) -> None:
    """Skip locally, fail under CI, when a program the browser tests need is missing."""
    if path.exists():
        return
    reason = f"{what} ({path}) is not installed: run `make browsers`"
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@dataclass
class Platform:
    """A running `metaverse serve` process."""

    url: str
    ws_url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] = field(repr=False)
    log: Path = field(repr=False)

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """Call the HTTP API (`path` relative to `/api/v1`); the JSON answer or an HTTPError."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback http only
            f"{self.url}/api/v1{path}", data=data, method=method
        )
        request.add_header("content-type", "application/json")
        if token:
            request.add_header("authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            raw = response.read()
        return json.loads(raw) if raw else None


def start_platform(data_dir: Path, log: Path, extra_env: dict[str, str] | None = None) -> Platform:
    """Start `metaverse serve` on free ports and wait until it is ready."""
    port, ws_port, health_port = free_port(), free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("METAVERSE_")
        and key not in ("DATABASE_URL", "REDIS_URL", "KAFKA_BROKER", "JWT_SECRET", "PORT")
    }
    env.update(
        PORT=str(port),
        WS_PORT=str(ws_port),
        HEALTH_PORT=str(health_port),
        METAVERSE_DATA_DIR=str(data_dir),
        METAVERSE_LOG_LEVEL="warning",
        METAVERSE_AUTH_RATE_PER_MINUTE="0",
        METAVERSE_ADMIN_SIGNUP="open",
        METAVERSE_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    env.update(extra_env or {})
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "metaverse", "serve"],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"metaverse serve exited: {log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"metaverse serve did not become ready: {log.read_text()}")
        time.sleep(0.2)
    return Platform(url, f"ws://127.0.0.1:{ws_port}/ws", data_dir, env, process, log)


def stop_platform(platform: Platform) -> None:
    platform.process.terminate()
    try:
        platform.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        platform.process.kill()
        platform.process.wait()


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    base = tmp_path_factory.mktemp("platform")
    running = start_platform(base / "data", base / "serve.log")
    yield running
    stop_platform(running)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    require(CHROMIUM, "Chromium")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    launched = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def artefacts() -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS


NewPage = Callable[[], Page]


@pytest.fixture
def new_page(browser: Browser, platform: Platform) -> Iterator[NewPage]:
    """Pages in contexts of their own; a test fails if the content policy blocked anything
    on any of its pages (Chromium reports each block on the console)."""
    contexts: list[BrowserContext] = []
    blocked: list[str] = []

    def open_page() -> Page:
        context = browser.new_context(
            base_url=platform.url,
            viewport=VIEWPORT,  # type: ignore[arg-type]
            permissions=["camera", "microphone"],
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                blocked.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not blocked, blocked


@dataclass
class Account:
    username: str
    password: str
    user_id: str
    token: str
    refresh_token: str
    expires_in: int


def sign_up(platform: Platform, username: str | None = None, *, admin: bool = False) -> Account:
    """A new account, signed in, through the HTTP API."""
    username = username or f"user{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    body = {"username": username, "password": password, "type": "admin" if admin else "user"}
    user_id = platform.api("POST", "/signup", body)["userId"]
    tokens = platform.api("POST", "/signin", {"username": username, "password": password})
    return Account(
        username,
        password,
        user_id,
        tokens["token"],
        tokens["refreshToken"],
        tokens["expiresIn"],
    )


def store_tokens(page: Page, account: Account) -> None:
    """Put the tokens where `web/api.js` keeps them, before any page script runs."""
    expires_at_ms = int(time.time() * 1000) + account.expires_in * 1000
    page.add_init_script(
        # Once per tab: a later sign-out must not be undone by the next navigation.
        "(() => { if (sessionStorage.getItem('metaverse.e2e.seeded')) return;"
        "sessionStorage.setItem('metaverse.e2e.seeded', '1');"
        f"localStorage.setItem('metaverse.token', {json.dumps(account.token)});"
        f"localStorage.setItem('metaverse.refreshToken', {json.dumps(account.refresh_token)});"
        f"localStorage.setItem('metaverse.tokenExpiresAt', {json.dumps(str(expires_at_ms))});"
        "})()"
    )


SignedUpPage = Callable[..., Page]


@pytest.fixture
def signed_up_page(new_page: NewPage, platform: Platform) -> SignedUpPage:
    def open_signed_up(username: str | None = None, admin: bool = False) -> Page:
        account = sign_up(platform, username, admin=admin)
        page = new_page()
        store_tokens(page, account)
        # The account travels with its page, for tests that also call the API as that user.
        page.account = account  # type: ignore[attr-defined]
        page.goto("/")
        return page

    return open_signed_up
