"""Report drafts saved step by step, processed update ids, group subscriptions, photo hashes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
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
        "processed_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_processed_update")),
    )
    with op.batch_alter_table("processed_update", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_processed_update_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at_time", sa.String(length=5), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["group_chat.id"], name=op.f("fk_subscription_group_id_group_chat")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription")),
        sa.UniqueConstraint("group_id", "kind", name=op.f("uq_subscription_group_id")),
    )
    op.create_table(
        "draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("flow", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("danger_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["danger_id"], ["hidden_danger.id"], name=op.f("fk_draft_danger_id_hidden_danger")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_draft_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft")),
    )
    with op.batch_alter_table("draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_draft_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            "uq_draft_open_user",
            ["user_id", "flow"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    with op.batch_alter_table("photo", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draft_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("phash", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("source", sa.String(length=10), nullable=False, server_default="photo")
        )
        batch_op.create_index(batch_op.f("ix_photo_draft_id"), ["draft_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_photo_draft_id_draft"), "draft", ["draft_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("photo", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_photo_draft_id_draft"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_photo_draft_id"))
        batch_op.drop_column("source")
        batch_op.drop_column("phash")
        batch_op.drop_column("draft_id")

    with op.batch_alter_table("draft", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_draft_open_user",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index(batch_op.f("ix_draft_user_id"))

    op.drop_table("draft")
    op.drop_table("subscription")
    with op.batch_alter_table("processed_update", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_update_created_at"))

    op.drop_table("processed_update")
