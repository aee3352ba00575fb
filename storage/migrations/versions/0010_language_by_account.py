"""A chosen language belongs to an account on either front: language_choice is keyed by the
account as `Account.actor` writes it (a Telegram id alone, or `wecom:USERID`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("language_choice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account", sa.String(length=80), nullable=True))
    # Every Telegram choice is kept: its account is the Telegram id written out.
    op.execute("UPDATE language_choice SET account = CAST(telegram_id AS VARCHAR(80))")
    with op.batch_alter_table("language_choice", schema=None) as batch_op:
        batch_op.drop_constraint("pk_language_choice", type_="primary")
        batch_op.drop_column("telegram_id")
        batch_op.alter_column("account", existing_type=sa.String(length=80), nullable=False)
        batch_op.create_primary_key("pk_language_choice", ["account"])


def downgrade() -> None:
    # Only Telegram ids fit the old key: the choices made on WeCom are forgotten.
    op.execute("DELETE FROM language_choice WHERE account LIKE 'wecom:%'")
    with op.batch_alter_table("language_choice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("telegram_id", sa.BigInteger(), nullable=True))
    op.execute("UPDATE language_choice SET telegram_id = CAST(account AS BIGINT)")
    with op.batch_alter_table("language_choice", schema=None) as batch_op:
        batch_op.drop_constraint("pk_language_choice", type_="primary")
        batch_op.drop_column("account")
        batch_op.alter_column("telegram_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_primary_key("pk_language_choice", ["telegram_id"])
