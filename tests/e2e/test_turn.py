"""TURN: with relay forced, a call's video still connects, through a real coturn.

The platform hands out coturn shared-secret credentials (`expiry:userId`, HMAC-SHA1) and
`iceTransportPolicy: "relay"`, so the browsers may use nothing but relayed candidates: if
the video plays, the credentials were accepted and the media went through the TURN server.
"""

from __future__ import annotations

import re
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import (
    VIEWPORT,
    Account,
    Platform,
    require,
    sign_up,
    start_platform,
    stop_platform,
    store_tokens,
)
from tests.e2e.world import join, wait_until_video_plays
from tests.loopback import free_port

TURNSERVER = Path("/usr/bin/turnserver")
VIDEO_TIMEOUT_MS = 20_000


@dataclass
class Turn:
    url: str
    secret: str
    log: Path


def _wait_for_tcp(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"turnserver exited: {log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"turnserver did not listen: {log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Turn]:
    require(TURNSERVER, "coturn")
    workdir = tmp_path_factory.mktemp("turn")
    port, secret, log = free_port(), secrets.token_hex(16), workdir / "turnserver.log"
    relay_low = 40_000 + secrets.randbelow(200) * 100
    args = [
        str(TURNSERVER),
        "-n",  # no configuration file: everything is on this command line
        "--use-auth-secret",
        f"--static-auth-secret={secret}",
        "--realm=metaverse",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        f"--listening-port={port}",
        f"--min-port={relay_low}",
        f"--max-port={relay_low + 99}",
        # Both browsers sit on loopback, so the relay must be allowed to reach it.
        "--allow-loopback-peers",
        "--no-cli",
        "--no-tls",
        "--no-dtls",
        "--fingerprint",
        f"--pidfile={workdir / 'turnserver.pid'}",
        f"--userdb={workdir / 'turndb'}",
        "--log-file=stdout",
        "--simple-log",
        "--verbose",
    ]
    with log.open("wb") as handle:
        process = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT)
    try:
        _wait_for_tcp(port, process, log)
        yield Turn(f"turn:127.0.0.1:{port}?transport=udp", secret, log)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def relay_platform(turn: Turn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    base = tmp_path_factory.mktemp("relay-platform")
    running = start_platform(
        base / "data",
        base / "serve.log",
        {
            "METAVERSE_TURN_URLS": turn.url,
            "METAVERSE_TURN_SECRET": turn.secret,
            "METAVERSE_ICE_TRANSPORT_POLICY": "relay",
        },
    )
    yield running
    stop_platform(running)


def _open(browser: Browser, platform: Platform, account: Account, path: str) -> Page:
    context = browser.new_context(
        base_url=platform.url,
        viewport=VIEWPORT,  # type: ignore[arg-type]
        permissions=["camera", "microphone"],
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    store_tokens(page, account)
    page.goto(path)
    join(page)
    return page


def test_video_connects_through_turn_when_relay_is_forced(
    browser: Browser, relay_platform: Platform, turn: Turn
) -> None:
    ada, bao = sign_up(relay_platform), sign_up(relay_platform)
    servers = relay_platform.api("GET", "/rtc/ice-servers", token=ada.token)
    assert servers["iceTransportPolicy"] == "relay"
    assert any("username" in server for server in servers["iceServers"])

    # 3 by 2 tiles: wherever the two spawn, they are within the proximity radius of 2.
    space_id = relay_platform.api(
        "POST",
        "/space",
        {"name": "Relay room", "dimensions": "3x2", "visibility": "public"},
        token=ada.token,
    )["spaceId"]
    pages = [
        _open(browser, relay_platform, account, f"/spaces/{space_id}") for account in (ada, bao)
    ]
    try:
        for page, peer in ((pages[0], bao), (pages[1], ada)):
            wait_until_video_plays(page, peer.user_id, VIDEO_TIMEOUT_MS)
    finally:
        for page in pages:
            page.context.close()

    # coturn saw both users allocate relays with the credentials the platform minted.
    log = turn.log.read_text(errors="replace")
    for account in (ada, bao):
        assert re.search(rf"\d+:{account.user_id}", log), f"no TURN session for {account.username}"
