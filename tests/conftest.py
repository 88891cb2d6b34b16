"""Fixtures shared by every test layer: databases on SQLite and PostgreSQL, settings, apps."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from metaverse.db.engine import make_engine
from metaverse.db.migrate import upgrade
from metaverse.db.models import ALL_TABLES
from metaverse.settings import Settings
from tests.services import service_url

TEST_JWT_SECRET = "test-secret-" + "x" * 40


def run_isolated(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion on a loop of its own, even inside a running loop
    (session fixtures may be first requested from an async test's fixture)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def _worker() -> str:
    """This test process's name: its xdist worker, after `METAVERSE_TEST_RUN` when set, so
    that several test runs on one machine (say, one per checkout) keep their databases apart."""
    run = os.environ.get("METAVERSE_TEST_RUN", "")
    return f"{run}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}".lstrip("_")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy (cheaper than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"

    async def build() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        await engine.dispose()

    run_isolated(build())
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A migrated PostgreSQL database of this test worker's own, dropped at the end."""
    base = make_url(service_url("database"))
    name = f"metaverse_t_{_worker()}"
    admin_url = base.set(database="postgres").render_as_string(hide_password=False)
    url = base.set(database=name).render_as_string(hide_password=False)

    async def run(statement: str) -> None:
        engine = make_engine(admin_url)
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
        await engine.dispose()

    async def migrate() -> None:
        engine = make_engine(url)
        await upgrade(engine)
        await engine.dispose()

    run_isolated(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    run_isolated(run(f'CREATE DATABASE "{name}"'))
    run_isolated(migrate())
    yield url
    run_isolated(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as connection:
        tables = ", ".join(f'"{table}"' for table in ALL_TABLES if table != "alembic_version")
        await connection.execute(text(f"TRUNCATE {tables} CASCADE"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    """An empty, migrated database: a SQLite file or the real PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "metaverse.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_database")
    await _truncate(url)
    yield url


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a test: its own data dir, a fixed secret, no rate limits unless asked."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "jwt_secret": TEST_JWT_SECRET,
            "admin_signup": "open",
            "auth_rate_per_minute": 0,
            "seed_demo": False,
            # The cheapest argon2id the library allows keeps hundreds of sign-ups fast.
            "argon2_time_cost": 1,
            "argon2_memory_kib": 8 * 1024,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make
