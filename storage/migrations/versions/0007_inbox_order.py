"""Several webhook processes on one database: each kept update names its sender and chat, so
a process can wait for the earlier updates of the same person wherever they are; an album
split across processes is answered once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox_update", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_inbox_update_sender", ["sender_id", "update_id"], unique=False)
        batch_op.create_index("ix_inbox_update_chat", ["chat_id", "update_id"], unique=False)
    op.create_table(
        "album",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("media_group_id", sa.String(length=64), nullable=False),
        sa.Column("sender_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("last_update_id", sa.BigInteger(), nullable=False),
        sa.Column("receiver", sa.Integer(), nullable=False),
        sa.Column("answered_update_id", sa.BigInteger(), nullable=True),
        sa.Column("hinted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "media_group_id", name=op.f("pk_album")),
    )
    op.create_index(op.f("ix_album_updated_at"), "album", ["updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_album_updated_at"), table_name="album")
    op.drop_table("album")
    with op.batch_alter_table("inbox_update", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_update_chat")
        batch_op.drop_index("ix_inbox_update_sender")
        batch_op.drop_column("chat_id")
        batch_op.drop_column("sender_id")
