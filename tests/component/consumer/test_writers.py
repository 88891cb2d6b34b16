"""The consumer's database writers: which one a database gets, the synchronous SQLite
engine's transactions (a batch is written whole or not at all), and how a batch the
database refuses is sorted out."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    CheckConstraint,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from metaverse.backends.eventlog import Record
from metaverse.consumer.sinks import BulkInsert, Owner, Parsed, Sink
from metaverse.consumer.writers import EngineWriter, ThreadWriter, store, writer_for
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


# Sorting out a refused batch, on tables of the test's own: an owner, and rows that
# belong to it and may break a constraint of their own.
_scratch = MetaData()
_owners = Table("owners", _scratch, Column("id", String, primary_key=True))
_rows = Table(
    "rows",
    _scratch,
    Column("id", Integer, CheckConstraint("id > 0"), primary_key=True),
    Column("owner_id", String, ForeignKey("owners.id"), nullable=False),
)


@dataclasses.dataclass(frozen=True, slots=True)
class _DeletedMeanwhile(Sink):
    """A sink whose first look for missing owners comes before an owner is deleted."""

    looks: list[int] = dataclasses.field(default_factory=list)

    def orphans(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> dict[int, str]:
        self.looks.append(len(rows))
        return {} if len(self.looks) == 1 else Sink.orphans(self, connection, rows)


def _no_parsing(_: Record) -> dict[str, Any]:
    raise AssertionError("these tests hand the rows over ready")


def _parsed(sink: Sink, rows: list[tuple[int, str]]) -> Parsed:
    as_dicts = [{"id": id_, "owner_id": owner} for id_, owner in rows]
    records = [Record("t", b"k", str(id_).encode(), n) for n, (id_, _) in enumerate(rows)]
    return Parsed(sink, as_dicts, records, [])


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Engine]:
    engine = make_sync_engine(f"sqlite:///{tmp_path / 'scratch.db'}")
    _scratch.create_all(engine)
    with engine.begin() as connection:
        connection.execute(_owners.insert(), [{"id": "a"}])
    yield engine
    engine.dispose()


def _stored(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.scalars(select(_rows.c.id).order_by(_rows.c.id)))


def test_a_refused_batch_drops_orphans_rejects_the_refused_and_stores_the_rest(
    scratch: Engine,
) -> None:
    sink = Sink(
        BulkInsert(_rows, ("id", "owner_id")), _no_parsing, (Owner("owner_id", _owners, "gone"),)
    )
    parsed = _parsed(sink, [(1, "a"), (-2, "a"), (3, "nobody"), (4, "a")])
    with scratch.connect() as connection:
        written = store(connection, [parsed])
    assert [(r.value, why) for r, why in written.dropped] == [(b"3", "gone")]
    assert [(r.value, why) for r, why in written.rejected] == [
        (b"-2", "rejected by the database: IntegrityError")
    ]
    assert _stored(scratch) == [1, 4]


def test_an_owner_deleted_between_the_check_and_the_insert_still_drops_its_rows(
    scratch: Engine,
) -> None:
    owners = (Owner("owner_id", _owners, "gone"),)
    sink = _DeletedMeanwhile(BulkInsert(_rows, ("id", "owner_id")), _no_parsing, owners)
    parsed = _parsed(sink, [(1, "a"), (2, "nobody")])
    with scratch.connect() as connection:
        written = store(connection, [parsed])
    assert [(r.value, why) for r, why in written.dropped] == [(b"2", "gone")]
    assert written.rejected == []
    assert _stored(scratch) == [1]
    assert sink.looks == [2, 1]  # the batch, then the refused row alone
