"""Run Alembic migrations from code (the CLI's `db upgrade`, and the tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.db import create_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """Return an Alembic config pointing at hdbot's migrations and the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def revisions(url: str = "sqlite+aiosqlite:///unused") -> list[str]:
    """Return every revision id, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


async def _on_connection(url: str, action: str, revision: str) -> None:
    engine = create_engine(url)

    def run(sync_connection: Connection) -> None:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = sync_connection
        getattr(command, action)(cfg, revision)

    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database up to `revision`."""
    await _on_connection(url, "upgrade", revision)


async def downgrade(url: str, revision: str) -> None:
    """Migrate the database down to `revision` ("base" removes everything)."""
    await _on_connection(url, "downgrade", revision)


async def current(url: str) -> str | None:
    """Return the database's current revision, or None when it was never migrated."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Blocking form of upgrade for synchronous callers."""
    asyncio.run(upgrade(url, revision))
