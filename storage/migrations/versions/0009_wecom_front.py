"""The WeCom front: a person may be known by a WeCom user id as well as (or instead of) a
Telegram id, and WeCom's callbacks are kept before they are answered, once each.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.alter_column("telegram_id", existing_type=sa.BigInteger(), nullable=True)
        batch_op.add_column(sa.Column("wecom_user_id", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_app_user_wecom_user_id"), ["wecom_user_id"]
        )
        batch_op.create_check_constraint(
            "has_account", "telegram_id IS NOT NULL OR wecom_user_id IS NOT NULL"
        )
    op.create_table(
        "wecom_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("wecom_user_id", sa.String(length=64), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wecom_inbox")),
        sa.UniqueConstraint("key", name=op.f("uq_wecom_inbox_key")),
    )
    op.create_index(op.f("ix_wecom_inbox_handled_at"), "wecom_inbox", ["handled_at"])
    op.create_index(op.f("ix_wecom_inbox_wecom_user_id"), "wecom_inbox", ["wecom_user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_wecom_inbox_wecom_user_id"), table_name="wecom_inbox")
    op.drop_index(op.f("ix_wecom_inbox_handled_at"), table_name="wecom_inbox")
    op.drop_table("wecom_inbox")
    # People known only on WeCom cannot stay in a table that needs a Telegram id.
    op.execute("DELETE FROM app_user WHERE telegram_id IS NULL")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_constraint("has_account", type_="check")
        batch_op.drop_constraint(batch_op.f("uq_app_user_wecom_user_id"), type_="unique")
        batch_op.drop_column("wecom_user_id")
        batch_op.alter_column("telegram_id", existing_type=sa.BigInteger(), nullable=False)
