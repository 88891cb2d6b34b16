"""usernames unique whatever their case

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00.000000

`alice` and `ALICE` can't both exist: a unique index on `lower(username)` (usernames are
ASCII, where SQLite's and PostgreSQL's `lower` agree). A database that already holds
such a pair can't take the index; the migration then stops, names the accounts, and
changes nothing: which of them keeps the name is the operator's choice (rename the
others, e.g. `UPDATE users SET username = 'alice2' WHERE id = '…'`, then migrate again).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_users_username_lower"
FIX = "UPDATE users SET username = '<new name>' WHERE id = '<id>'"


def upgrade() -> None:
    clashes = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT id, username FROM users WHERE lower(username) IN "
                "(SELECT lower(username) FROM users GROUP BY lower(username) "
                "HAVING count(*) > 1) ORDER BY lower(username), created_at"
            )
        )
        .all()
    )
    if clashes:
        named = ", ".join(f"{username} (id {user_id})" for user_id, username in clashes)
        raise RuntimeError(
            "usernames must be unique whatever their case, and these accounts clash: "
            f"{named}. Rename all but one of each group ({FIX}), then migrate again."
        )
    op.create_index(INDEX, "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="users")
