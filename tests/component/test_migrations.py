"""Migrations on a database that already holds data, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from metaverse.db.engine import make_engine
from metaverse.db.migrate import alembic_config, upgrade


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config(str(connection.engine.url))
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_usernames_that_clash_in_case_stop_0003_until_renamed(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade, "0002")
            for user_id, username in (("u1", "alice"), ("u2", "ALICE"), ("u3", "bob")):
                await connection.execute(
                    text(
                        "INSERT INTO users (id, username, password_hash, role, status, "
                        "created_at) VALUES (:id, :name, 'x', 'user', 'available', "
                        "CURRENT_TIMESTAMP)"
                    ),
                    {"id": user_id, "name": username},
                )
        with pytest.raises(RuntimeError, match=r"alice \(id u1\), ALICE \(id u2\)\. Rename"):
            await upgrade(engine)
        async with engine.begin() as connection:
            version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
            assert version == "0002"
            await connection.execute(text("UPDATE users SET username = 'alice2' WHERE id = 'u2'"))
        await upgrade(engine)
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE users SET username = 'BOB' WHERE id = 'u1'"))
    finally:
        await upgrade(engine)  # the next test on this database expects the head revision
        await engine.dispose()
