"""The real PostgreSQL and Redis answer with the URLs the test suite is given."""

import uuid

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import pytest
import redis.asyncio as aioredis

from tests.services import service_url

pytestmark = pytest.mark.integration


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """asyncpg takes a plain libpq URL, without SQLAlchemy's `+asyncpg` driver suffix."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def test_postgres_answers() -> None:
    conn = await asyncpg.connect(asyncpg_dsn(service_url("database")), timeout=10)
    try:
        version = await conn.fetchval("SHOW server_version_num")
        assert int(version) >= 150000
        await conn.execute("CREATE TEMP TABLE probe (id int PRIMARY KEY, body text)")
        await conn.execute("INSERT INTO probe VALUES ($1, $2)", 1, "hello")
        assert await conn.fetchval("SELECT body FROM probe WHERE id = $1", 1) == "hello"
    finally:
        await conn.close()


async def test_redis_answers() -> None:
    client = aioredis.from_url(service_url("redis"))
    try:
        assert await client.ping() is True
        key = f"test:probe:{uuid.uuid4().hex}"
        await client.set(key, b"hello", ex=60)
        assert await client.get(key) == b"hello"
        await client.delete(key)
    finally:
        await client.aclose()
