"""The closed loop: rectification rounds, deadline extension requests, after-photos by round.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "extension_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("danger_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("old_deadline", sa.Date(), nullable=False),
        sa.Column("new_deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["danger_id"],
            ["hidden_danger.id"],
            name=op.f("fk_extension_request_danger_id_hidden_danger"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["app_user.id"],
            name=op.f("fk_extension_request_decided_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["app_user.id"],
            name=op.f("fk_extension_request_requested_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extension_request")),
    )
    with op.batch_alter_table("extension_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_extension_request_danger_id"), ["danger_id"], unique=False
        )

    op.create_table(
        "rectification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("danger_id", sa.Integer(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=True),
        sa.Column("verified_by_id", sa.Integer(), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["danger_id"],
            ["hidden_danger.id"],
            name=op.f("fk_rectification_danger_id_hidden_danger"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["app_user.id"],
            name=op.f("fk_rectification_submitted_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_id"],
            ["app_user.id"],
            name=op.f("fk_rectification_verified_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification")),
    )
    with op.batch_alter_table("rectification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rectification_danger_id"), ["danger_id"], unique=False)

    with op.batch_alter_table("photo", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rectification_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_photo_rectification_id_rectification"),
            "rectification",
            ["rectification_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("photo", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_photo_rectification_id_rectification"), type_="foreignkey"
        )
        batch_op.drop_column("rectification_id")

    with op.batch_alter_table("rectification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rectification_danger_id"))

    op.drop_table("rectification")
    with op.batch_alter_table("extension_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_extension_request_danger_id"))

    op.drop_table("extension_request")
