"""invite links, guests and disabled accounts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 23:00:00.000000

`space_invites` holds the links that make people members of a space; `spaces.guests`
lets people without an account in; a guest is a `users` row with `guest_space_id` set
(removed with its space); `users.disabled_at` marks an account an admin disabled.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "space_invites",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("space_id", sa.String(length=26), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('moderator', 'member')", name=op.f("ck_space_invites_role")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_space_invites_created_by_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_space_invites_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_space_invites")),
    )
    op.create_index(op.f("ix_space_invites_space_id"), "space_invites", ["space_id"])
    op.create_index(op.f("ix_space_invites_created_by"), "space_invites", ["created_by"])

    op.add_column(
        "spaces",
        sa.Column("guests", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("users", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    # SQLite can add a column with a REFERENCES clause, but no constraint afterwards.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE users ADD COLUMN guest_space_id VARCHAR(26) "
            "REFERENCES spaces (id) ON DELETE CASCADE"
        )
    else:
        op.add_column("users", sa.Column("guest_space_id", sa.String(length=26), nullable=True))
        op.create_foreign_key(
            op.f("fk_users_guest_space_id_spaces"),
            "users",
            "spaces",
            ["guest_space_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_index(op.f("ix_users_guest_space_id"), "users", ["guest_space_id"])


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): batch mode would rebuild `users` without the
    # expression index of 0003.
    op.drop_index(op.f("ix_users_guest_space_id"), table_name="users")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_users_guest_space_id_spaces"), "users", type_="foreignkey")
    op.execute("ALTER TABLE users DROP COLUMN guest_space_id")
    op.execute("ALTER TABLE users DROP COLUMN disabled_at")
    op.execute("ALTER TABLE spaces DROP COLUMN guests")
    op.drop_index(op.f("ix_space_invites_created_by"), table_name="space_invites")
    op.drop_index(op.f("ix_space_invites_space_id"), table_name="space_invites")
    op.drop_table("space_invites")
