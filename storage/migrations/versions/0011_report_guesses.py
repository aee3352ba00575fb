"""The campaign's default deadline per level (what a report gets unless its reporter picks one),
an index on a person's latest reports (what a new report's guesses look back on), and the
index of photos by draft kept to the photos still in one (see storage/models/dangers.py).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("deadline_days_general", sa.Integer(), server_default="7", nullable=False)
        )
        batch_op.add_column(
            sa.Column("deadline_days_major", sa.Integer(), server_default="30", nullable=False)
        )
    op.create_index(
        "ix_hidden_danger_reporter_created",
        "hidden_danger",
        ["reporter_id", "created_at", "id"],
    )
    op.drop_index("ix_photo_draft_id", table_name="photo")
    in_a_draft = sa.text("draft_id IS NOT NULL")
    op.create_index(
        "ix_photo_draft_id",
        "photo",
        ["draft_id"],
        sqlite_where=in_a_draft,
        postgresql_where=in_a_draft,
    )


def downgrade() -> None:
    op.drop_index("ix_photo_draft_id", table_name="photo")
    op.create_index("ix_photo_draft_id", "photo", ["draft_id"])
    op.drop_index("ix_hidden_danger_reporter_created", table_name="hidden_danger")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("deadline_days_major")
        batch_op.drop_column("deadline_days_general")
