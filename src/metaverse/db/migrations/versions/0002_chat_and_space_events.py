"""chat and space events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 12:12:26.225000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_rooms",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("space_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("owner_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_chat_rooms_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_chat_rooms_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_rooms")),
    )
    with op.batch_alter_table("chat_rooms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_rooms_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chat_rooms_space_id"), ["space_id"], unique=False)

    op.create_table(
        "space_events",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("space_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=True),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_space_events_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_space_events")),
    )
    with op.batch_alter_table("space_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_space_events_space_id"), ["space_id"], unique=False)
        batch_op.create_index("ix_space_events_space_ts", ["space_id", "ts_ms"], unique=False)

    op.create_table(
        "chat_messages",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("space_id", sa.String(length=26), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("conversation", sa.String(length=160), nullable=False),
        sa.Column("room_id", sa.String(length=26), nullable=True),
        sa.Column("area", sa.String(length=64), nullable=True),
        sa.Column("sender_id", sa.String(length=26), nullable=False),
        sa.Column("sender_name", sa.String(length=64), nullable=False),
        sa.Column("recipient_id", sa.String(length=26), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.String(length=26), nullable=True),
        sa.CheckConstraint(
            "scope IN ('nearby', 'area', 'space', 'direct', 'room')",
            name=op.f("ck_chat_messages_scope"),
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["chat_rooms.id"],
            name=op.f("fk_chat_messages_room_id_chat_rooms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_chat_messages_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
    )
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_chat_messages_conversation_id", ["conversation", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_chat_messages_room_id"), ["room_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chat_messages_sender_id"), ["sender_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chat_messages_space_id"), ["space_id"], unique=False)

    op.create_table(
        "chat_room_members",
        sa.Column("room_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["chat_rooms.id"],
            name=op.f("fk_chat_room_members_room_id_chat_rooms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_chat_room_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("room_id", "user_id", name=op.f("pk_chat_room_members")),
    )
    with op.batch_alter_table("chat_room_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_room_members_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_room_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_room_members_user_id"))

    op.drop_table("chat_room_members")
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_messages_space_id"))
        batch_op.drop_index(batch_op.f("ix_chat_messages_sender_id"))
        batch_op.drop_index(batch_op.f("ix_chat_messages_room_id"))
        batch_op.drop_index("ix_chat_messages_conversation_id")

    op.drop_table("chat_messages")
    with op.batch_alter_table("space_events", schema=None) as batch_op:
        batch_op.drop_index("ix_space_events_space_ts")
        batch_op.drop_index(batch_op.f("ix_space_events_space_id"))

    op.drop_table("space_events")
    with op.batch_alter_table("chat_rooms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_rooms_space_id"))
        batch_op.drop_index(batch_op.f("ix_chat_rooms_owner_id"))

    op.drop_table("chat_rooms")
