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


async def test_0004_keeps_spaces_and_users_and_closes_them_to_guests(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade, "0003")
            await connection.execute(
                text(
                    "INSERT INTO users (id, username, password_hash, role, status, created_at) "
                    "VALUES ('u1', 'ann', 'x', 'user', 'available', CURRENT_TIMESTAMP)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO spaces (id, name, owner_id, width, height, visibility, "
                    "created_at) VALUES ('s1', 'office', 'u1', 5, 5, 'public', "
                    "CURRENT_TIMESTAMP)"
                )
            )
        await upgrade(engine)
        async with engine.begin() as connection:
            guests = await connection.scalar(text("SELECT guests FROM spaces WHERE id = 's1'"))
            assert guests in (False, 0)
            row = (
                await connection.execute(
                    text("SELECT disabled_at, guest_space_id FROM users WHERE id = 'u1'")
                )
            ).one()
            assert tuple(row) == (None, None)
            await connection.execute(
                text(
                    "INSERT INTO space_invites (token, space_id, role, created_by, created_at) "
                    "VALUES ('t', 's1', 'member', 'u1', CURRENT_TIMESTAMP)"
                )
            )
            assert await connection.scalar(text("SELECT uses FROM space_invites")) == 0
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade, "0003")
            assert await connection.scalar(text("SELECT name FROM spaces")) == "office"
    finally:
        await upgrade(engine)
        await engine.dispose()
