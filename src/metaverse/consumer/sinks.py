"""Turning log records into rows. A topic's sink parses a batch (what can't be parsed, or
holds what the database can't store, is returned with the reason, for the dead-letter
topic) and inserts the rows with `ON CONFLICT DO NOTHING` on their id, so a replayed
record inserts nothing. It also knows what its rows belong to (a space, a chat room):
a row whose owner was deleted after the record was sent goes with it. How a batch's rows
reach the database (one transaction, and the rows it refuses) is `writers`'s."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Table, TextClause, select, text
from sqlalchemy.dialects import postgresql

from metaverse.backends.eventlog import Record
from metaverse.chat.messages import CHAT_TOPIC, ChatMessage
from metaverse.db.models import Base, SpaceEvent
from metaverse.db.models import ChatMessage as ChatMessageRow
from metaverse.db.models import ChatRoom as ChatRoomRow
from metaverse.db.models import Space as SpaceRow
from metaverse.gateway.recorder import EVENTS_TOPIC
from metaverse.protocol.codec import loads

Rejected = list[tuple[Record, str]]
# Rows per SQLite statement: 11 columns x 2000 is well under its bound on parameters.
ROWS_PER_STATEMENT = 2000
# Ids per existence query (a bound parameter each).
IDS_PER_QUERY = 1000
# BIGINT, the type of every timestamp column.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# How JSON spells NUL, which no PostgreSQL text can hold; raw control characters are not
# valid JSON, so a record without this sequence has no NUL in any of its strings.
_JSON_NUL = b"\\u0000"


class BulkInsert:
    """Inserting many rows of one table at once, skipping ids already stored.

    Built once per table, so that no statement is compiled per batch (compiling a
    multi-row VALUES statement costs ~200 µs of CPU per row, most of the consumer's time):

    - PostgreSQL: one `INSERT ... SELECT * FROM unnest(<one array per column>)`, the same
      statement text (and prepared statement) whatever the batch size, and the cheapest
      for the server too (about half the time of an executemany);
    - SQLite: multi-row VALUES, written out here rather than compiled. Not an
      executemany: sqlite3 lets go of the GIL around every row's step, and in a busy
      process (`serve`: the gateway shares it) each row then waits up to the interpreter's
      switch interval (5 ms) to get it back; one statement lets go of it once.
    """

    def __init__(self, table: Table, columns: tuple[str, ...]) -> None:
        self.columns = columns
        pg = postgresql.dialect()  # type: ignore[no-untyped-call]
        quote = pg.identifier_preparer.quote
        arrays = ", ".join(
            f"CAST(:{name} AS {table.c[name].type.compile(dialect=pg)}[])" for name in columns
        )
        # Names from the model, quoted (the same way in both dialects); every value is a
        # bound parameter.
        self._unnest: TextClause = text(
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)})"  # noqa: S608
            f" SELECT * FROM unnest({arrays}) ON CONFLICT (id) DO NOTHING"
        )
        self._values_head = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) VALUES "  # noqa: S608
        )
        self._values_row = "(" + ", ".join("?" for _ in columns) + ")"

    def execute(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        if connection.dialect.name == "postgresql":
            arrays = {name: [row[name] for row in rows] for name in self.columns}
            connection.execute(self._unnest, arrays)
            return
        columns = self.columns
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            sql = (
                self._values_head
                + ", ".join([self._values_row] * len(chunk))
                + " ON CONFLICT (id) DO NOTHING"
            )
            values = tuple(row[name] for row in chunk for name in columns)
            connection.exec_driver_sql(sql, values)


def check_storable(record: Record, row: dict[str, Any]) -> None:
    """Refuse (ValueError) what parses but the database can't store: a NUL character in a
    text (PostgreSQL) and a timestamp beyond BIGINT. Stored, such a record would fail its
    whole batch on every retry instead of going to the dead-letter topic."""
    if not INT64_MIN <= row["ts_ms"] <= INT64_MAX:
        raise ValueError("the timestamp is out of range")
    if _JSON_NUL in record.value and any(
        isinstance(value, str) and "\x00" in value for value in row.values()
    ):
        raise ValueError("a text holds a NUL character")


def chat_row(record: Record) -> dict[str, Any]:
    message = ChatMessage.from_bytes(record.value)
    row = {
        "id": message.id,
        "space_id": message.space_id,
        "scope": message.scope,
        "conversation": message.conversation,
        "room_id": message.room_id,
        "area": message.area,
        "sender_id": message.sender_id,
        "sender_name": message.sender_name,
        "recipient_id": message.to,
        "text": message.text,
        "ts_ms": message.ts_ms,
    }
    check_storable(record, row)
    return row


def event_row(record: Record) -> dict[str, Any]:
    data = loads(record.value)
    if not isinstance(data, dict):
        raise ValueError("an event record is a JSON object")
    for name in ("id", "spaceId", "kind"):
        if not isinstance(data.get(name), str):
            raise ValueError(f"{name} must be a string")
    if not isinstance(data.get("ts"), int):
        raise ValueError("ts must be an integer")
    for name in ("user_id", "call_id"):
        if not isinstance(data.get(name), str | None):
            raise ValueError(f"{name} must be a string")
    row = {
        "id": data["id"],
        "space_id": data["spaceId"],
        "kind": data["kind"],
        "user_id": data.get("user_id"),
        "call_id": data.get("call_id"),
        "ts_ms": data["ts"],
        "data": record.value.decode(),
    }
    check_storable(record, row)
    return row


@dataclass(frozen=True, slots=True)
class Parsed:
    """A topic's records as rows, the records they came from, and the ones that could
    not be parsed (with the reason)."""

    sink: Sink
    rows: list[dict[str, Any]]
    kept: list[Record]
    rejected: Rejected

    @property
    def newest_ms(self) -> int:
        return max((row["ts_ms"] for row in self.rows), default=0)


@dataclass(frozen=True, slots=True)
class Owner:
    """What a row belongs to, by the id in `column`: when that row of `table` is deleted
    (its rows cascade), rows still in flight for it are dropped for `reason`."""

    column: str
    table: Table
    reason: str


@dataclass(frozen=True, slots=True)
class Sink:
    """Where the records of one topic go."""

    bulk: BulkInsert
    to_row: Callable[[Record], dict[str, Any]]
    # Outermost first: a deleted space takes its chat rooms with it, and is the reason.
    owners: tuple[Owner, ...] = ()

    def orphans(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> dict[int, str]:
        """The rows (by index) whose owner is not in the database, with the reason."""
        gone: dict[int, str] = {}
        for owner in self.owners:
            wanted = {
                row[owner.column]
                for index, row in enumerate(rows)
                if index not in gone and row[owner.column] is not None
            }
            present = _present(connection, owner.table, wanted)
            for index, row in enumerate(rows):
                ref = row[owner.column]
                if index not in gone and ref is not None and ref not in present:
                    gone[index] = owner.reason
        return gone

    def parse(self, records: Sequence[Record]) -> Parsed:
        parsed = Parsed(self, [], [], [])
        for record in records:
            try:
                parsed.rows.append(self.to_row(record))
                parsed.kept.append(record)
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
                parsed.rejected.append((record, f"unparseable: {exc}"))
        return parsed


def _present(connection: Connection, table: Table, ids: set[str]) -> set[str]:
    """Which of `ids` are ids of rows of `table`."""
    wanted, present = sorted(ids), set[str]()
    for start in range(0, len(wanted), IDS_PER_QUERY):
        chunk = wanted[start : start + IDS_PER_QUERY]
        present.update(connection.scalars(select(table.c.id).where(table.c.id.in_(chunk))))
    return present


SPACE_DELETED: Final = "space_deleted"
ROOM_DELETED: Final = "room_deleted"
_SPACES: Final = Base.metadata.tables[SpaceRow.__tablename__]
_ROOMS: Final = Base.metadata.tables[ChatRoomRow.__tablename__]

SINKS: Final = {
    CHAT_TOPIC: Sink(
        BulkInsert(
            Base.metadata.tables[ChatMessageRow.__tablename__],
            (
                "id",
                "space_id",
                "scope",
                "conversation",
                "room_id",
                "area",
                "sender_id",
                "sender_name",
                "recipient_id",
                "text",
                "ts_ms",
            ),
        ),
        chat_row,
        (Owner("space_id", _SPACES, SPACE_DELETED), Owner("room_id", _ROOMS, ROOM_DELETED)),
    ),
    EVENTS_TOPIC: Sink(
        BulkInsert(
            Base.metadata.tables[SpaceEvent.__tablename__],
            ("id", "space_id", "kind", "user_id", "call_id", "ts_ms", "data"),
        ),
        event_row,
        (Owner("space_id", _SPACES, SPACE_DELETED),),
    ),
}
