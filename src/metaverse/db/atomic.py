"""Locks for the few checks that no single conditional statement can make.

Most check-then-act in the API is one conditional statement (`UPDATE … WHERE <the check>
RETURNING`, `DELETE … RETURNING`, `INSERT … ON CONFLICT DO NOTHING`). A check over a whole
table, such as "no account exists yet", needs the table held still from the check until
the commit instead.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from metaverse.db.models import Base


async def lock_table(session: AsyncSession, model: type[Base]) -> None:
    """Keep every other writer of `model`'s table waiting until this transaction ends.

    PostgreSQL: `SHARE ROW EXCLUSIVE`, which conflicts with itself and with every
    INSERT, UPDATE and DELETE but lets plain reads through. SQLite has one writer at a
    time: an UPDATE that matches nothing opens the transaction and takes the database's
    write lock now (waiting out the busy timeout) rather than at the first real write.
    """
    table = cast(Table, model.__table__)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f'LOCK TABLE "{table.name}" IN SHARE ROW EXCLUSIVE MODE'))
        return
    first = next(iter(table.primary_key.columns))
    await session.execute(update(table).where(first.is_(None)).values({first.name: first}))
