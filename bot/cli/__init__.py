"""The `hdbot` command line: run the bot and administer the campaign.

Every line it prints speaks `HDBOT_LANGUAGE`; every refusal is one line on stderr and a
non-zero exit, never a traceback. The commands live beside this module by subject.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import redaction
from bot.config import ConfigError, Settings, load_settings
from bot.i18n import Translator
from storage import clock, migrate
from storage.db import create_engine, make_sessions
from storage.errors import DomainError
from storage.tasks import TaskImportError

T = TypeVar("T")
ACTOR = "cli"


def fail(message: str, code: int = 1) -> NoReturn:
    """Refuse in one line on stderr and leave with `code`."""
    click.echo(f"hdbot: {message}", err=True)
    sys.exit(code)


def settings_of(ctx: click.Context) -> Settings:
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):
        raise RuntimeError("settings were not loaded")
    return settings


def words(settings: Settings) -> Translator:
    """The CLI's language: HDBOT_LANGUAGE."""
    return Translator(settings.language)


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def sqlite_file(settings: Settings) -> Path | None:
    """The SQLite file in use, or None on another database."""
    url = make_url(settings.db_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database)


def ensure_data_dir(settings: Settings) -> None:
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)


def stored_revision(settings: Settings) -> str | None:
    """The database's schema revision; one line and exit when there is no database to ask (a
    missing SQLite file is not created)."""
    _ = words(settings)
    file = sqlite_file(settings)
    if file is not None and not file.is_file():
        fail(_("no database at {path}: run `hdbot db upgrade` first", path=file))
    try:
        return asyncio.run(migrate.current(settings.db_url))
    except (OperationalError, ProgrammingError, OSError) as err:
        fail(_cannot_use(settings, err))


def need_database(settings: Settings) -> None:
    """Refuse when the database is missing or behind (a missing SQLite file is not created)."""
    _ = words(settings)
    if stored_revision(settings) != migrate.revisions()[-1]:
        fail(_("the database is not set up or out of date: run `hdbot db upgrade` first"))


def _cannot_use(settings: Settings, err: Exception) -> str:
    _ = words(settings)
    reason = str(getattr(err, "orig", None) or err).splitlines()[0]
    return _(
        "cannot use the database {url}: {reason}", url=safe_url(settings.db_url), reason=reason
    )


async def _with_session(settings: Settings, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    engine = create_engine(settings.db_url)
    try:
        async with make_sessions(engine)() as session:
            return await fn(session)
    finally:
        await engine.dispose()


def run_operation(settings: Settings, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one domain operation in its own session, turning its errors into clean exits."""
    need_database(settings)
    try:
        return asyncio.run(_with_session(settings, fn))
    except DomainError as err:
        fail(describe(settings, err))
    except (OperationalError, ProgrammingError, OSError) as err:
        fail(_cannot_use(settings, err))


def describe(settings: Settings, err: DomainError) -> str:
    """A domain error in the CLI's language (a bad import lists its rows beneath)."""
    _ = words(settings)
    lines = [_.error(err)]
    if isinstance(err, TaskImportError):
        lines += [
            _("  line {line}: {reason}", line=e.line, reason=_(e.key, **e.params))
            for e in err.errors
        ]
    return "\n".join(lines)


def parse_iso_date(ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        _ = words(settings_of(ctx))
        raise click.BadParameter(_("{value} is not a date like 2026-12-31", value=value)) from exc


class OneLineGroup(click.Group):
    """Click's usage errors as one line, like every other refusal."""

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> Any:
        try:
            return super().main(args, prog_name, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            fail("aborted")
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.ClickException as err:
            fail(" ".join(f"{err.format_message()} (--help)".split()), err.exit_code)


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A TOML file with settings (keys as the HDBOT_ variables, without the prefix).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log more (secrets are never logged).")
@click.pass_context
def main(ctx: click.Context, config_file: Path | None, verbose: bool) -> None:
    """hdbot: log hidden dangers of the safety rectification campaign and follow them to closing.

    Settings come from HDBOT_* environment variables, a .env file and --config.
    """
    # Opt in to python-telegram-bot's coming behaviour: durations (retry_after) as timedelta.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    try:
        settings = load_settings(config_file=config_file)
    except ConfigError as err:
        fail(str(err), 2)
    redaction.install(settings.secrets, level=logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "apscheduler", "alembic", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if (start := settings.clock_start_at) is not None:
        clock.install(clock.ShiftedClock(start))
    ctx.obj = settings


# The commands register themselves on `main` when their modules are imported.
from bot.cli import campaign, database, demo, ledger, people, pushes, running  # noqa: E402

__all__ = ["campaign", "database", "demo", "ledger", "main", "people", "pushes", "running"]
