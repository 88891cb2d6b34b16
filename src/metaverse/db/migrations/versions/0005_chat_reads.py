"""chat read positions

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 23:30:00.000000

`chat_reads` keeps, per user and conversation, the newest message id the user has read,
so unread counts outlive the page; `chat_messages.recipient_id` gets an index for
finding a user's direct conversations.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_reads",
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("conversation", sa.String(length=160), nullable=False),
        sa.Column("message_id", sa.String(length=26), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_chat_reads_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "conversation", name=op.f("pk_chat_reads")),
    )
    op.create_index(
        op.f("ix_chat_messages_recipient_id"), "chat_messages", ["recipient_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_messages_recipient_id"), table_name="chat_messages")
    op.drop_table("chat_reads")
