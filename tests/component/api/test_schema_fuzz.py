"""Schemathesis against the API as it serves (uvicorn on loopback), on SQLite and PostgreSQL.

Every operation of the OpenAPI document gets generated requests, valid and invalid, with
an admin's token; each answer must be no server error and exactly what the document says
(status, content type, headers, body shape). Examples are bounded and derandomised so a
run takes the same time and finds the same things every time.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from metaverse.api.app import create_app
from metaverse.api.context import ApiContext
from metaverse.api.openapi import BEARER
from metaverse.clock import FakeClock
from metaverse.settings import Settings
from tests.conftest import _truncate, run_isolated
from tests.loopback import free_port

pytestmark = pytest.mark.xdist_group("schema_fuzz")

MAX_EXAMPLES = 12
MAX_TARGET_BYTES = 65_534
MAX_REPORT = 3000  # characters of each failure's report (a generated URL can be huge)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    unsupported_method,
    missing_required_header,
    ignored_auth,
]


@dataclass
class Server:
    url: str
    token: str


class _Uvicorn(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test process keeps its own
        pass


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The app on a free loopback port, in a thread with its own event loop (where its
    database connections live)."""
    port = free_port()
    started = threading.Event()
    servers: list[uvicorn.Server] = []

    async def run() -> None:
        context = ApiContext.build(settings, FakeClock())
        config = uvicorn.Config(
            create_app(context), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        server = _Uvicorn(config)
        servers.append(server)
        try:
            await server.serve()
        finally:
            await context.close()

    async def watch() -> None:
        task = asyncio.create_task(run())
        while not (servers and servers[0].started) and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.02)  # uvicorn tells it has started by a flag only
        started.set()
        await task

    thread = threading.Thread(target=asyncio.run, args=(watch(),), daemon=True)
    thread.start()
    try:
        assert started.wait(30) and servers and servers[0].started, "the API did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        if servers:
            servers[0].should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        shutil.copyfile(sqlite_template, data_dir / "metaverse.db")
        database_url = f"sqlite+aiosqlite:///{data_dir / 'metaverse.db'}"
    else:
        database_url = request.getfixturevalue("postgres_database")
        run_isolated(_truncate(database_url))
    settings_ = Settings(
        _env_file=None,
        data_dir=data_dir / "data",
        database_url=database_url,
        jwt_secret="fuzz-secret-" + "x" * 40,
        admin_signup="open",
        auth_rate_per_minute=0,
        seed_demo=False,
        argon2_time_cost=1,
        argon2_memory_kib=8 * 1024,
    )
    with serving(settings_) as url:
        account = {"username": "fuzzadmin", "password": "password1", "type": "admin"}
        with httpx.Client(base_url=url) as client:
            assert client.post("/api/v1/signup", json=account).status_code == 200
            tokens = client.post("/api/v1/signin", json=account).json()
        yield Server(url, tokens["token"])


def _target(case: Any, base_url: str) -> str:
    """The request target (path and query) as it goes on the wire."""
    sent = case.as_transport_kwargs(base_url=base_url)
    return str(requests.Request("GET", sent["url"], params=sent["params"]).prepare().path_url)


def test_every_operation_answers_as_documented(server: Server) -> None:
    config = SchemathesisConfig.from_dict({"auth": {"openapi": {BEARER: {"bearer": server.token}}}})
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config)
    failures: list[str] = []
    operations = sent = 0
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"an operation schemathesis can't read: {result.err()}")
            continue
        operation = result.ok()
        operations += 1
        for mode in GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                nonlocal sent
                # uvicorn answers a request target over 64 KiB itself, in plain text,
                # before the app sees it (the API's own bounds keep valid requests under).
                assume(len(_target(case, server.url)) <= MAX_TARGET_BYTES)
                sent += 1
                case.call_and_validate(base_url=server.url, checks=CHECKS)

            try:
                check()
            except Unsatisfiable:
                # Only an operation without constrained input has nothing to make invalid.
                if mode is GenerationMode.POSITIVE:
                    failures.append(f"{operation.label}: no valid request could be made")
            except (Exception, FailureGroup) as exc:  # every operation's, not only the first
                failures.append(f"{operation.label} ({mode.value}):\n{str(exc)[:MAX_REPORT]}")
    assert operations > 40 and sent > operations * MAX_EXAMPLES
    assert not failures, "\n\n".join(failures)
