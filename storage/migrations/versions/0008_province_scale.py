"""Province scale: the indexes every chat query needs at a million hidden dangers, a tally of
hidden dangers per unit kept by the database itself, full-text search, and the photo hash bands
the near-duplicate check looks up.

- danger_tally: one row per (campaign, unit, kind, level, status) with the count and the sum of
  days from report to close; triggers keep it on every insert, update and delete of a hidden
  danger, whoever writes (the bot, the CLI, a bulk import), so it cannot drift from the ledger.
- Search: FTS5 with the trigram tokenizer on SQLite (substrings of three characters or more,
  Chinese included), pg_trgm on PostgreSQL.
- Photo hash bands: the 64-bit perceptual hash cut in three bands of 21, 21 and 22 bits, each
  indexed; two hashes at most 6 bits apart agree to within 2 bits in at least one band.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Keep in step with storage/search.py and storage/photos.py (BANDS).
BANDS = ((0, 21), (21, 21), (42, 22))

DANGER_INDEXES = {
    "ix_hidden_danger_unit_status_deadline": [
        *("unit_id", "status", "deadline", "kind", "campaign_id")
    ],
    "ix_hidden_danger_reporter_status_deadline": ["reporter_id", "status", "deadline"],
    "ix_hidden_danger_responsible_status_deadline": ["responsible_id", "status", "deadline"],
    "ix_hidden_danger_unit_created": ["unit_id", "created_at", "kind", "campaign_id"],
    "ix_hidden_danger_unit_closed": ["unit_id", "closed_at", "kind", "campaign_id"],
    "ix_hidden_danger_created_at": ["created_at", "kind", "campaign_id"],
    "ix_hidden_danger_closed_at": ["closed_at", "kind", "campaign_id"],
}

SQLITE_DAYS = (
    "CASE WHEN {r}.status = 'closed' AND {r}.closed_at IS NOT NULL "
    "THEN julianday({r}.closed_at) - julianday({r}.created_at) ELSE 0 END"
)
PG_DAYS = (
    "CASE WHEN {r}.status = 'closed' AND {r}.closed_at IS NOT NULL "
    "THEN extract(epoch FROM {r}.closed_at - {r}.created_at) / 86400 ELSE 0 END"
)
KEY = ("campaign_id", "unit_id", "kind", "level", "status")


def _sqlite_add(row: str) -> str:
    values = ", ".join(f"{row}.{c}" for c in KEY)
    return (
        f"INSERT INTO danger_tally ({', '.join(KEY)}, n, closed_days) "
        f"VALUES ({values}, 1, {SQLITE_DAYS.format(r=row)}) "
        f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET n = n + 1, "
        "closed_days = closed_days + excluded.closed_days;"
    )


def _sqlite_remove(row: str) -> str:
    where = " AND ".join(f"{c} = {row}.{c}" for c in KEY)
    return (
        f"UPDATE danger_tally SET n = n - 1, closed_days = closed_days - "
        f"{SQLITE_DAYS.format(r=row)} WHERE {where};"
    )


PG_FUNCTION = """
CREATE FUNCTION danger_tally_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    add_first boolean;
BEGIN
    -- Two changes in opposite directions at once must not lock the two rows in opposite
    -- orders: take them in the order of their keys.
    add_first := TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND
        ROW(NEW.campaign_id, NEW.unit_id, NEW.kind, NEW.level, NEW.status) <
        ROW(OLD.campaign_id, OLD.unit_id, OLD.kind, OLD.level, OLD.status));
    IF add_first THEN
        PERFORM danger_tally_add(NEW, 1);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM danger_tally_add(OLD, -1);
    END IF;
    IF TG_OP = 'UPDATE' AND NOT add_first THEN
        PERFORM danger_tally_add(NEW, 1);
    END IF;
    RETURN NULL;
END $$;
"""

PG_ADD = f"""
CREATE FUNCTION danger_tally_add(r hidden_danger, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO danger_tally ({", ".join(KEY)}, n, closed_days)
    VALUES (r.campaign_id, r.unit_id, r.kind, r.level, r.status, sign,
            sign * ({PG_DAYS.format(r="r")}))
    ON CONFLICT ({", ".join(KEY)}) DO UPDATE SET n = danger_tally.n + EXCLUDED.n,
        closed_days = danger_tally.closed_days + EXCLUDED.closed_days;
END $$;
"""

TALLY_COLUMNS = "campaign_id, unit_id, kind, level, status, closed_at, created_at"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "danger_tally",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("closed_days", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(*KEY, name=op.f("pk_danger_tally")),
    )
    days = SQLITE_DAYS if dialect == "sqlite" else PG_DAYS
    op.execute(
        f"INSERT INTO danger_tally ({', '.join(KEY)}, n, closed_days) "
        f"SELECT {', '.join(KEY)}, count(*), coalesce(sum({days.format(r='hidden_danger')}), 0) "
        f"FROM hidden_danger GROUP BY {', '.join(KEY)}"
    )
    if dialect == "sqlite":
        op.execute(
            "CREATE TRIGGER danger_tally_insert AFTER INSERT ON hidden_danger "
            f"BEGIN {_sqlite_add('NEW')} END"
        )
        op.execute(
            "CREATE TRIGGER danger_tally_delete AFTER DELETE ON hidden_danger "
            f"BEGIN {_sqlite_remove('OLD')} END"
        )
        op.execute(
            f"CREATE TRIGGER danger_tally_update AFTER UPDATE OF {TALLY_COLUMNS} "
            f"ON hidden_danger BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END"
        )
    else:
        op.execute(PG_ADD)
        op.execute(PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER danger_tally AFTER INSERT OR DELETE OR UPDATE OF "
            f"{TALLY_COLUMNS} ON hidden_danger FOR EACH ROW EXECUTE FUNCTION danger_tally_change()"
        )

    op.drop_index("ix_hidden_danger_unit_status", table_name="hidden_danger")
    for name, columns in DANGER_INDEXES.items():
        op.create_index(name, "hidden_danger", columns)
    for start, width in BANDS:
        op.execute(
            f"CREATE INDEX ix_photo_phash_band_{start} ON photo "
            f"(((phash >> {start}) & {(1 << width) - 1}))"
        )

    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE danger_search USING fts5(number, site, description, "
            "content='hidden_danger', content_rowid='id', tokenize='trigram')"
        )
        op.execute("INSERT INTO danger_search (danger_search) VALUES ('rebuild')")
        op.execute(
            "CREATE TRIGGER danger_search_insert AFTER INSERT ON hidden_danger BEGIN "
            "INSERT INTO danger_search (rowid, number, site, description) "
            "VALUES (NEW.id, NEW.number, NEW.site, NEW.description); END"
        )
        op.execute(
            "CREATE TRIGGER danger_search_delete AFTER DELETE ON hidden_danger BEGIN "
            "INSERT INTO danger_search (danger_search, rowid, number, site, description) "
            "VALUES ('delete', OLD.id, OLD.number, OLD.site, OLD.description); END"
        )
        op.execute(
            "CREATE TRIGGER danger_search_update AFTER UPDATE OF number, site, description "
            "ON hidden_danger BEGIN "
            "INSERT INTO danger_search (danger_search, rowid, number, site, description) "
            "VALUES ('delete', OLD.id, OLD.number, OLD.site, OLD.description); "
            "INSERT INTO danger_search (rowid, number, site, description) "
            "VALUES (NEW.id, NEW.number, NEW.site, NEW.description); END"
        )
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_hidden_danger_search ON hidden_danger USING gin "
            "((lower(number || ' ' || site || ' ' || description)) gin_trgm_ops)"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER danger_search_{name}")
            op.execute(f"DROP TRIGGER danger_tally_{name}")
        op.execute("DROP TABLE danger_search")
    else:
        op.execute("DROP INDEX ix_hidden_danger_search")
        op.execute("DROP TRIGGER danger_tally ON hidden_danger")
        op.execute("DROP FUNCTION danger_tally_change()")
        op.execute("DROP FUNCTION danger_tally_add(hidden_danger, integer)")
    for start, _ in BANDS:
        op.execute(f"DROP INDEX ix_photo_phash_band_{start}")
    for name in DANGER_INDEXES:
        op.drop_index(name, table_name="hidden_danger")
    op.create_index("ix_hidden_danger_unit_status", "hidden_danger", ["unit_id", "status"])
    op.drop_table("danger_tally")
