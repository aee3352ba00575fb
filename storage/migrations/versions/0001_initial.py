"""Initial schema: the campaign's tables and the seven special rectification fields.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIELDS = [
    ("hazardous_chemicals", "危险化学品", "Hazardous chemicals"),
    ("transportation", "交通运输", "Transportation"),
    ("fishing_vessels", "渔业船舶", "Fishing vessels"),
    ("construction", "建筑施工", "Construction"),
    ("town_gas", "城镇燃气", "Town gas"),
    ("fire_protection", "消防", "Fire protection"),
    ("other", "其他", "Other"),
]


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("closing_date", sa.Date(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
    )
    op.create_table(
        "field",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field")),
        sa.UniqueConstraint("code", name=op.f("uq_field_code")),
    )
    op.create_table(
        "language_choice",
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("telegram_id", name=op.f("pk_language_choice")),
    )
    op.create_table(
        "number_sequence",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_number_sequence")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_status_not_before", ["status", "not_before"], unique=False)

    op.create_table(
        "setting",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_setting")),
    )
    op.create_table(
        "unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["unit.id"], name=op.f("fk_unit_parent_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit")),
        sa.UniqueConstraint("name", name=op.f("uq_unit_name")),
    )
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_app_user_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("telegram_id", name=op.f("uq_app_user_telegram_id")),
    )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_user_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "group_chat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_group_chat_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_chat")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_group_chat_chat_id")),
    )
    with op.batch_alter_table("group_chat", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_chat_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_invite_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite")),
        sa.UniqueConstraint("code", name=op.f("uq_invite_code")),
    )
    op.create_table(
        "task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_task_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(["field_id"], ["field.id"], name=op.f("fk_task_field_id_field")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_task_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task")),
        sa.UniqueConstraint("campaign_id", "code", name=op.f("uq_task_campaign_id")),
    )
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "hidden_danger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=300), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("responsible_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_hidden_danger_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["field_id"], ["field.id"], name=op.f("fk_hidden_danger_field_id_field")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["app_user.id"], name=op.f("fk_hidden_danger_reporter_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["responsible_id"],
            ["app_user.id"],
            name=op.f("fk_hidden_danger_responsible_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_hidden_danger_task_id_task")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_hidden_danger_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hidden_danger")),
        sa.UniqueConstraint("number", name=op.f("uq_hidden_danger_number")),
    )
    with op.batch_alter_table("hidden_danger", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hidden_danger_reporter_id"), ["reporter_id"], unique=False
        )
        batch_op.create_index(
            "ix_hidden_danger_status_deadline", ["status", "deadline"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_hidden_danger_task_id"), ["task_id"], unique=False)
        batch_op.create_index("ix_hidden_danger_unit_status", ["unit_id", "status"], unique=False)

    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("danger_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["app_user.id"], name=op.f("fk_event_actor_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["danger_id"], ["hidden_danger.id"], name=op.f("fk_event_danger_id_hidden_danger")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_danger_id"), ["danger_id"], unique=False)

    op.create_table(
        "photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("danger_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("file_id", sa.String(length=255), nullable=False),
        sa.Column("file_unique_id", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("thumb_path", sa.String(length=500), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("exif_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exif_lat", sa.Float(), nullable=True),
        sa.Column("exif_lon", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["danger_id"], ["hidden_danger.id"], name=op.f("fk_photo_danger_id_hidden_danger")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photo")),
    )
    with op.batch_alter_table("photo", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_photo_danger_id"), ["danger_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_photo_sha256"), ["sha256"], unique=False)
    field = sa.table(
        "field",
        sa.column("code", sa.String),
        sa.column("name_zh", sa.String),
        sa.column("name_en", sa.String),
        sa.column("position", sa.Integer),
    )
    op.bulk_insert(
        field,
        [
            {"code": code, "name_zh": zh, "name_en": en, "position": i}
            for i, (code, zh, en) in enumerate(FIELDS)
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photo_sha256"))
        batch_op.drop_index(batch_op.f("ix_photo_danger_id"))

    op.drop_table("photo")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_danger_id"))
        batch_op.drop_index(batch_op.f("ix_event_created_at"))

    op.drop_table("event")
    with op.batch_alter_table("hidden_danger", schema=None) as batch_op:
        batch_op.drop_index("ix_hidden_danger_unit_status")
        batch_op.drop_index(batch_op.f("ix_hidden_danger_task_id"))
        batch_op.drop_index("ix_hidden_danger_status_deadline")
        batch_op.drop_index(batch_op.f("ix_hidden_danger_reporter_id"))

    op.drop_table("hidden_danger")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_unit_id"))

    op.drop_table("task")
    op.drop_table("invite")
    with op.batch_alter_table("group_chat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_chat_unit_id"))

    op.drop_table("group_chat")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_user_unit_id"))

    op.drop_table("app_user")
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_parent_id"))

    op.drop_table("unit")
    op.drop_table("setting")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_not_before")

    op.drop_table("outbox")
    op.drop_table("number_sequence")
    op.drop_table("language_choice")
    op.drop_table("field")
    op.drop_table("campaign")
