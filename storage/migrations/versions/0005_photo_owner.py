"""Photos know who sent them: a person's uploads a day are capped, and unused ones forgotten.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("photo", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_photo_user_id_app_user"), "app_user", ["user_id"], ["id"]
        )
        batch_op.create_index("ix_photo_user_created", ["user_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("photo", schema=None) as batch_op:
        batch_op.drop_index("ix_photo_user_created")
        batch_op.drop_constraint(batch_op.f("fk_photo_user_id_app_user"), type_="foreignkey")
        batch_op.drop_column("user_id")
