"""The `metaverse` command as an operator runs it: real processes, a real port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.loopback import free_port

METAVERSE = [sys.executable, "-m", "metaverse"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("METAVERSE_") and key not in ("DATABASE_URL", "JWT_SECRET", "PORT")
    }
    values.update(
        METAVERSE_DATA_DIR=str(tmp_path / "data"),
        PORT=str(free_port()),
        WS_PORT=str(free_port()),
        METAVERSE_LOG_LEVEL="warning",
    )
    return values


def _run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        METAVERSE + args,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["serve", "--help"],
        ["api", "--help"],
        ["migrate", "--help"],
        ["admin", "--help"],
        ["admin", "create", "--help"],
        ["gateway", "--help"],
    ],
)
def test_every_command_explains_itself(args: list[str], env: dict[str, str]) -> None:
    result = _run(args, env)
    assert result.returncode == 0
    assert "usage: metaverse" in result.stdout
    assert len(result.stdout.splitlines()) > 3


def test_invalid_settings_are_reported_without_a_traceback(env: dict[str, str]) -> None:
    result = _run(["migrate"], {**env, "PORT": "not-a-port"})
    assert result.returncode == 2
    assert "invalid settings" in result.stderr and "Traceback" not in result.stderr


def test_migrate_and_admin_create(env: dict[str, str], tmp_path: Path) -> None:
    migrated = _run(["migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "data" / "metaverse.db").exists()

    created = _run(["admin", "create", "root_admin"], env, stdin="correct horse\n")
    assert created.returncode == 0, created.stderr
    assert "created admin root_admin" in created.stdout

    again = _run(["admin", "create", "root_admin"], env, stdin="correct horse\n")
    assert again.returncode == 1 and "taken" in again.stderr
    short = _run(["admin", "create", "other"], env, stdin="123\n")
    assert short.returncode == 1 and "at least 6" in short.stderr
    invalid = _run(["admin", "create", "bad name!"], env, stdin="correct horse\n")
    assert invalid.returncode == 1 and "username" in invalid.stderr


def _get(port: int, path: str, token: str | None = None) -> tuple[int, object]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
        return response.status, json.loads(response.read())


def _post(port: int, path: str, body: object) -> tuple[int, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
        return response.status, json.loads(response.read())


@pytest.fixture
def serve(env: dict[str, str]) -> Iterator[tuple[dict[str, str], list[subprocess.Popen[str]]]]:
    processes: list[subprocess.Popen[str]] = []
    yield env, processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()  # also when it exited early: no pipe left to the collector


def _start(env: dict[str, str], processes: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [*METAVERSE, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    processes.append(process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if _get(int(env["PORT"]), "/readyz")[0] == 200:
                return process
        except OSError:
            time.sleep(0.1)
    raise AssertionError("serve did not become ready in 30 s")


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output
    return output


def test_serve_seeds_once_stops_cleanly_and_keeps_data(
    serve: tuple[dict[str, str], list[subprocess.Popen[str]]], tmp_path: Path
) -> None:
    env, processes = serve
    port = int(env["PORT"])
    process = _start(env, processes)
    _, maps = _get(port, "/api/v1/maps")
    assert [m["name"] for m in maps["maps"]] == ["Demo office"]  # type: ignore[index]
    _, avatars = _get(port, "/api/v1/avatars")
    assert len(avatars["avatars"]) >= 3  # type: ignore[index]
    image = avatars["avatars"][0]["imageUrl"]  # type: ignore[index]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{image}", timeout=5) as response:
        assert response.headers["content-type"].startswith("image/svg")
    assert (
        _post(
            port, "/api/v1/signup", {"username": "founder", "password": "secret1", "type": "admin"}
        )[0]
        == 200
    )
    # The gateway runs in the same process, on WS_PORT.
    with connect(f"ws://127.0.0.1:{env['WS_PORT']}/ws") as ws:
        ws.send(json.dumps({"type": "join", "payload": {"spaceId": "none", "token": "bad"}}))
        assert json.loads(ws.recv(timeout=5))["payload"]["code"] == "invalid_token"
    output = _stop(process)
    assert "Traceback" not in output

    secret = (tmp_path / "data" / "jwt_secret").read_text()
    process = _start(env, processes)
    _, maps = _get(port, "/api/v1/maps")
    assert len(maps["maps"]) == 1  # type: ignore[index]
    status, tokens = _post(port, "/api/v1/signin", {"username": "founder", "password": "secret1"})
    assert status == 200
    _, me = _get(port, "/api/v1/user/me", tokens["token"])  # type: ignore[index]
    assert me["role"] == "admin"  # type: ignore[index]
    assert (tmp_path / "data" / "jwt_secret").read_text() == secret
    _stop(process)
