"""The migration stairway: every revision goes up, down and up again, on both backends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from storage import migrate
from storage.db import create_engine
from storage.models import Base
from tests.conftest import PG_URL, _pg_admin


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'stairs.sqlite3'}"
        return
    name = f"hdbot_stairs_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_stairway(empty_db: str) -> None:
    revisions = migrate.revisions()
    assert revisions, "no migrations found"
    previous = "base"
    for revision in revisions:
        await migrate.upgrade(empty_db, revision)
        await migrate.downgrade(empty_db, previous)
        await migrate.upgrade(empty_db, revision)
        assert await migrate.current(empty_db) == revision
        previous = revision
    tables = {t for t in await _tables(empty_db) if not _outside_models(t)}
    assert tables == set(Base.metadata.tables)


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
async def test_models_match_migrations(db_url: str) -> None:
    """Autogenerate against a migrated database finds nothing to change."""
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert [d for d in diff if not _outside_models(_name_of(d))] == []


def _outside_models(name: str) -> bool:
    """What the migrations make by hand, beyond the models: Alembic's own table, SQLite's
    full-text index and its shadow tables, expression and trigram indexes (migration 0008)."""
    return (
        name == "alembic_version"
        or name.startswith("danger_search")
        or name.startswith("ix_photo_phash_band_")
        or name == "ix_hidden_danger_search"
    )


def _name_of(difference: object) -> str:
    """The table's or index's name an autogenerate difference is about."""
    if isinstance(difference, tuple) and len(difference) > 1:
        return str(getattr(difference[1], "name", ""))
    return ""


async def test_a_telegram_language_choice_survives_the_rekeying(empty_db: str) -> None:
    """0010 keys chosen languages by account: a Telegram choice made before stays; going
    back forgets only the choices made on WeCom."""
    await migrate.upgrade(empty_db, "0009")
    await _run(
        empty_db,
        "INSERT INTO language_choice (telegram_id, language, updated_at) "
        "VALUES (4242, 'en', CURRENT_TIMESTAMP)",
    )
    await migrate.upgrade(empty_db, "0010")
    assert await _run(empty_db, "SELECT account, language FROM language_choice") == [("4242", "en")]
    await _run(
        empty_db,
        "INSERT INTO language_choice (account, language, updated_at) "
        "VALUES ('wecom:li.jg', 'en', CURRENT_TIMESTAMP)",
    )
    await migrate.downgrade(empty_db, "0009")
    assert await _run(empty_db, "SELECT telegram_id, language FROM language_choice") == [
        (4242, "en")
    ]


async def _run(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()
