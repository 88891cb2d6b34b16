"""Check-then-act in one step: writes whose condition the database checks as it writes.

A check made by one statement and acted on by a later one lets every concurrent request
pass the check. So the API writes with conditional statements instead: `UPDATE … WHERE
<the check> RETURNING`, `DELETE … WHERE … RETURNING` (nothing returned: another request
got there first), `INSERT … ON CONFLICT DO NOTHING`. What no single statement can check,
such as "no account exists yet", holds the table still from the check to the commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from sqlalchemy import Table, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.db.models import Base
from metaverse.errors import MetaverseError


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def insert_if_absent(session: AsyncSession, model: type[Base], **values: Any) -> bool:
    """Insert one row unless one with the same key exists; True if this call inserted it.

    A concurrent insert of the same key is waited for, then counts as existing.
    """
    table = _table(model)
    insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    key = next(iter(table.primary_key.columns))
    inserted = await session.scalar(
        insert(table).values(values).on_conflict_do_nothing().returning(key)
    )
    return inserted is not None


@asynccontextmanager
async def parent_must_exist(
    session: AsyncSession, model: type[Base], parent_id: str, gone: MetaverseError
) -> AsyncIterator[None]:
    """Writes of rows that belong to a `model` row, checked to exist beforehand: if it was
    deleted meanwhile, their foreign key fails, and the caller gets `gone` (what it gets
    when the row was already missing at the check) instead of a database error."""
    try:
        yield
    except IntegrityError:
        await session.rollback()
        key = next(iter(_table(model).primary_key.columns))
        if await session.scalar(select(key).where(key == parent_id)) is None:
            raise gone from None
        raise


async def lock_table(session: AsyncSession, model: type[Base]) -> None:
    """Keep every other writer of `model`'s table waiting until this transaction ends.

    PostgreSQL: `SHARE ROW EXCLUSIVE`, which conflicts with itself and with every
    INSERT, UPDATE and DELETE but lets plain reads through. SQLite has one writer at a
    time: an UPDATE that matches nothing opens the transaction and takes the database's
    write lock now (waiting out the busy timeout) rather than at the first real write.
    """
    table = _table(model)
    if _dialect(session) == "postgresql":
        await session.execute(text(f'LOCK TABLE "{table.name}" IN SHARE ROW EXCLUSIVE MODE'))
        return
    first = next(iter(table.primary_key.columns))
    await session.execute(update(table).where(first.is_(None)).values({first.name: first}))
