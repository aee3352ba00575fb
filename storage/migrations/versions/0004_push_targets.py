"""Push targets outside Telegram (WeCom group robots, per unit); daily pushes expire.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "push_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kinds", sa.String(length=100), nullable=False),
        sa.Column("at_time", sa.String(length=5), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_push_target_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_target")),
        sa.UniqueConstraint("key", name=op.f("uq_push_target_key")),
    )
    with op.batch_alter_table("push_target", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_target_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("push_target", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_target_unit_id"))

    op.drop_table("push_target")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
