"""The consumer's database writers: which one a database gets, and the synchronous SQLite
engine's transactions (a batch is written whole or not at all)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from metaverse.consumer.writers import EngineWriter, ThreadWriter, writer_for
from metaverse.db.engine import make_engine, make_sync_engine


async def test_an_sqlite_file_gets_a_thread_writer_and_anything_else_the_sessions(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    writer = writer_for(engine)
    try:
        expected = ThreadWriter if database_url.startswith("sqlite") else EngineWriter
        assert type(writer) is expected
    finally:
        await writer.close()
        await writer.close()  # closing twice is harmless (`run` closes, so may its owner)
        await engine.dispose()


async def test_an_in_memory_sqlite_database_keeps_the_async_engine() -> None:
    """Another engine would open another, empty, database."""
    engine = make_engine("sqlite+aiosqlite://")
    assert type(writer_for(engine)) is EngineWriter
    await engine.dispose()


@pytest.fixture
def table(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
    engine = make_sync_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    engine.dispose()
    return url


def _ids(url: str) -> list[int]:
    engine = make_sync_engine(url)
    with engine.connect() as connection:
        ids = [row[0] for row in connection.execute(text("SELECT id FROM t ORDER BY id"))]
    engine.dispose()
    return ids


def test_a_released_savepoint_does_not_commit_the_transaction_around_it(table: str) -> None:
    """With the driver's own transaction handling, the savepoint would open the
    transaction and its release would commit it."""
    engine = make_sync_engine(table)
    with engine.connect() as connection:
        transaction = connection.begin()
        with connection.begin_nested():
            connection.exec_driver_sql("INSERT INTO t (id) VALUES (1)")
        connection.exec_driver_sql("INSERT INTO t (id) VALUES (2)")
        transaction.rollback()
    engine.dispose()
    assert _ids(table) == []


def test_a_refused_row_in_a_savepoint_keeps_the_others(table: str) -> None:
    engine = make_sync_engine(table)
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t (id) VALUES (1)")
        with pytest.raises(IntegrityError), connection.begin_nested():
            connection.exec_driver_sql("INSERT INTO t (id) VALUES (1)")
        connection.exec_driver_sql("INSERT INTO t (id) VALUES (2)")
    engine.dispose()
    assert _ids(table) == [1, 2]
