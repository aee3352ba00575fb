"""`hdbot db upgrade|current`: the database schema."""

from __future__ import annotations

import asyncio

import click
from alembic.util.exc import CommandError
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.cli import ensure_data_dir, fail, main, safe_url, settings_of, stored_revision, words
from storage import migrate


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Create or migrate the database to the latest schema (or REVISION)."""
    settings = settings_of(ctx)
    _ = words(settings)
    if revision != "head" and revision not in migrate.revisions():
        fail(
            _(
                "no schema revision {revision}; there are {known}",
                revision=revision,
                known=", ".join(migrate.revisions()),
            )
        )
    ensure_data_dir(settings)
    try:
        asyncio.run(migrate.upgrade(settings.db_url, revision))
        now = asyncio.run(migrate.current(settings.db_url))
    except CommandError as err:
        fail(str(err).splitlines()[0])
    except (OperationalError, ProgrammingError, OSError) as err:
        reason = str(getattr(err, "orig", None) or err).splitlines()[0]
        fail(
            _(
                "cannot use the database {url}: {reason}",
                url=safe_url(settings.db_url),
                reason=reason,
            )
        )
    click.echo(
        _("database {url} at revision {revision}", url=safe_url(settings.db_url), revision=now)
    )


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Print the database's schema revision."""
    settings = settings_of(ctx)
    _ = words(settings)
    click.echo(stored_revision(settings) or _("(empty)"))
