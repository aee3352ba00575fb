"""The `hdbot` command line: run the bot and administer the campaign."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlparse

import click
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import ConfigError, Settings, load_settings
from bot.i18n import Translator
from bot.tables import TableError, read_table
from storage import campaigns, clock, migrate, people, pushes, tasks, units
from storage.db import create_engine, make_sessions, read_only
from storage.errors import DomainError
from storage.meta import BOT_USERNAME, get_setting
from storage.models import Role, UnitKind

logger = logging.getLogger(__name__)
T = TypeVar("T")
ACTOR = "cli"


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"hdbot: {message}", err=True)
    sys.exit(code)


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.obj
    if not isinstance(settings, Settings):
        raise RuntimeError("settings were not loaded")
    return settings


def _t(settings: Settings) -> Translator:
    return Translator(settings.language)


async def _with_session(settings: Settings, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    engine = create_engine(settings.db_url)
    try:
        async with make_sessions(engine)() as session:
            return await fn(session)
    finally:
        await engine.dispose()


def _run(settings: Settings, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one domain operation in its own session, turning its errors into clean exits."""
    _ensure_data_dir(settings)
    try:
        head = migrate.revisions()[-1]
        if asyncio.run(migrate.current(settings.db_url)) != head:
            _fail("the database is not set up or out of date: run `hdbot db upgrade` first")
        return asyncio.run(_with_session(settings, fn))
    except DomainError as err:
        _fail(_describe(settings, err))
    except (OperationalError, ProgrammingError, OSError) as err:
        _fail(f"cannot use the database {_safe_url(settings.db_url)}: {err}")


def _describe(settings: Settings, err: DomainError) -> str:
    _ = _t(settings)
    lines = [_.error(err)]
    if isinstance(err, tasks.TaskImportError):
        lines += [
            _("  line {line}: {reason}", line=e.line, reason=_(e.key, **e.params))
            for e in err.errors
        ]
    return "\n".join(lines)


def _ensure_data_dir(settings: Settings) -> None:
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A TOML file with settings (keys as the HDBOT_ variables, without the prefix).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.pass_context
def main(ctx: click.Context, config_file: Path | None, verbose: bool) -> None:
    """hdbot: log hidden dangers of the safety rectification campaign and follow them to closing.

    Settings come from HDBOT_* environment variables, a .env file and --config.
    """
    # Opt in to python-telegram-bot's coming behaviour: durations (retry_after) as timedelta.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        ctx.obj = load_settings(config_file=config_file)
    except ConfigError as err:
        _fail(str(err), 2)
    if (start := ctx.obj.clock_start_at) is not None:
        clock.install(clock.ShiftedClock(start))


# --- run -------------------------------------------------------------------------------------


@main.command()
@click.option(
    "--webhook-url", help="Receive updates by webhook at this public URL instead of polling."
)
@click.option("--listen", default="127.0.0.1", show_default=True, help="Webhook: address to bind.")
@click.option("--port", default=8443, show_default=True, type=int, help="Webhook: port to bind.")
@click.option(
    "--secret-token",
    help="Webhook: the secret Telegram sends with each update (better: HDBOT_WEBHOOK_SECRET).",
)
@click.pass_context
def run(
    ctx: click.Context,
    webhook_url: str | None,
    listen: str,
    port: int,
    secret_token: str | None,
) -> None:
    """Run the bot (long polling, or a webhook with --webhook-url)."""
    settings = _settings(ctx)
    try:
        settings.require_token()
    except ConfigError as err:
        _fail(str(err), 2)
    secret = secret_token or settings.webhook_secret
    if webhook_url:
        # Without the secret anyone who finds the URL could post updates in anyone's name.
        if not secret or not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
            _fail("webhook mode needs HDBOT_WEBHOOK_SECRET (16 to 256 of A-Z a-z 0-9 _ -)", 2)
        if urlparse(webhook_url).scheme != "https":
            _fail("--webhook-url must be an https:// URL (Telegram posts only to HTTPS)", 2)
    _ensure_data_dir(settings)
    head = migrate.revisions()[-1]
    if asyncio.run(migrate.current(settings.db_url)) != head:
        _fail("the database is not set up or out of date: run `hdbot db upgrade` first")

    from bot.app import build_application

    engine = create_engine(settings.db_url)
    application = build_application(settings, sessions=make_sessions(engine))

    application.bot_data.closers.append(engine.dispose)
    if webhook_url:
        application.run_webhook(
            listen=listen,
            port=port,
            webhook_url=webhook_url,
            secret_token=secret,
            url_path=urlparse(webhook_url).path.lstrip("/"),
        )
    else:
        application.run_polling()


# --- db --------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Create or migrate the database to the latest schema (or REVISION)."""
    settings = _settings(ctx)
    _ensure_data_dir(settings)
    try:
        asyncio.run(migrate.upgrade(settings.db_url, revision))
        now = asyncio.run(migrate.current(settings.db_url))
    except (OperationalError, OSError) as err:
        _fail(f"cannot use the database {_safe_url(settings.db_url)}: {err}")
    click.echo(f"database {_safe_url(settings.db_url)} at revision {now}")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Print the database's schema revision."""
    settings = _settings(ctx)
    click.echo(asyncio.run(migrate.current(settings.db_url)) or "(empty)")


# --- campaign --------------------------------------------------------------------------------


@main.group()
def campaign() -> None:
    """The campaign: name, closing date, time zone."""


def _parse_iso_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date like 2026-12-31") from exc


@campaign.command("set")
@click.option("--name", required=True, help="The campaign's name.")
@click.option(
    "--closing-date",
    required=True,
    callback=_parse_iso_date,
    help="The closing date the countdown counts to, YYYY-MM-DD.",
)
@click.option("--timezone", default=None, help="IANA time zone (default: HDBOT_TIMEZONE).")
@click.pass_context
def campaign_set(ctx: click.Context, name: str, closing_date: date, timezone: str | None) -> None:
    """Create the campaign or change it."""
    settings = _settings(ctx)
    info = _run(
        settings,
        lambda s: campaigns.set_campaign(
            s,
            name=name,
            closing_date=closing_date,
            timezone=timezone or settings.timezone,
            actor=ACTOR,
        ),
    )
    click.echo(f"campaign {info.name!r}: closes {info.closing_date.isoformat()} ({info.timezone})")


@campaign.command("show")
@click.pass_context
def campaign_show(ctx: click.Context) -> None:
    """Print the campaign."""
    info = _run(_settings(ctx), campaigns.require_campaign)
    click.echo(f"{info.name}\ncloses {info.closing_date.isoformat()} ({info.timezone})")


# --- units -----------------------------------------------------------------------------------


@main.group()
def unit() -> None:
    """Units: regions and departments, as a tree."""


@unit.command("add")
@click.argument("name")
@click.option("--parent", help="The unit above this one.")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in UnitKind]),
    default=UnitKind.REGION.value,
    show_default=True,
)
@click.pass_context
def unit_add(ctx: click.Context, name: str, parent: str | None, kind: str) -> None:
    """Add a unit (adding one that exists, the same way, changes nothing)."""
    info, created = _run(
        _settings(ctx),
        lambda s: units.add_unit(s, name=name, kind=kind, parent=parent, actor=ACTOR),
    )
    where = f" under {info.parent_name}" if info.parent_name else ""
    click.echo(f"{'added' if created else 'exists'}: {info.name} ({info.kind}){where}")


@unit.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def unit_list(ctx: click.Context, as_json: bool) -> None:
    """List the units as a tree."""
    rows = _run(_settings(ctx), units.list_units)
    if as_json:
        click.echo(
            json.dumps(
                [{"name": u.name, "kind": u.kind, "parent": u.parent_name} for u in rows],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not rows:
        click.echo("no units yet: add them with `hdbot unit add`")
    for u in rows:
        click.echo(f"{'  ' * u.depth}{u.name} ({u.kind})")


# --- tasks -----------------------------------------------------------------------------------


@main.command("import-tasks")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def import_tasks(ctx: click.Context, file: Path) -> None:
    """Import campaign tasks from a CSV or XLSX file, upserting by code.

    Columns: code, title, source, field, unit, due_date. A file with any bad row imports
    nothing and lists every bad row.
    """
    settings = _settings(ctx)
    try:
        rows = read_table(file)
    except TableError as err:
        _fail(str(err))
    result = _run(settings, lambda s: tasks.import_tasks(s, rows=rows, actor=ACTOR))
    click.echo(
        f"{file.name}: {result.total} tasks — {result.created} added, "
        f"{result.updated} updated, {result.unchanged} unchanged"
    )


@main.command("import-measures")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def import_measures(ctx: click.Context, file: Path) -> None:
    """Import institutional measures (the 13 of the campaign) from a CSV or XLSX file.

    Same columns as import-tasks; the source column may be left out.
    """
    settings = _settings(ctx)
    try:
        rows = read_table(file)
    except TableError as err:
        _fail(str(err))
    result = _run(
        settings,
        lambda s: tasks.import_tasks(s, rows=rows, actor=ACTOR, default_source="institutional"),
    )
    click.echo(
        f"{file.name}: {result.total} measures — {result.created} added, "
        f"{result.updated} updated, {result.unchanged} unchanged"
    )


# --- people ----------------------------------------------------------------------------------


@main.group()
def admin() -> None:
    """Administrators."""


@admin.command("add")
@click.argument("telegram_id", type=int)
@click.option("--unit", help="The unit the admin belongs to (optional: none means the city).")
@click.pass_context
def admin_add(ctx: click.Context, telegram_id: int, unit: str | None) -> None:
    """Make a Telegram user (by numeric id) an administrator."""
    info, changed = _run(
        _settings(ctx),
        lambda s: people.add_admin(s, telegram_id=telegram_id, unit=unit, actor=ACTOR),
    )
    click.echo(f"{'added' if changed else 'already'} admin: {info.telegram_id}")


@main.command()
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option(
    "--unit", help="The unit the new person joins (required for inspectors and supervisors)."
)
@click.option("--uses", default=1, show_default=True, type=int, help="How many people may use it.")
@click.option("--expires", default=7, show_default=True, type=int, help="Days until it expires.")
@click.pass_context
def invite(ctx: click.Context, role: str, unit: str | None, uses: int, expires: int) -> None:
    """Create an invite code and print its deep link."""
    settings = _settings(ctx)

    async def create(session: AsyncSession) -> tuple[people.InviteInfo, str | None]:
        info = await people.create_invite(
            session, role=role, unit=unit, uses=uses, expires_days=expires, actor=ACTOR
        )
        return info, settings.bot_username or await get_setting(session, BOT_USERNAME)

    info, username = _run(settings, create)
    click.echo(f"code: {info.code}")
    if username:
        click.echo(f"link: https://t.me/{username}?start={info.code}")
    else:
        click.echo(
            "link: https://t.me/<bot>?start=" + info.code + "  (the bot's username is learnt "
            "when `hdbot run` first starts, or set HDBOT_BOT_USERNAME)"
        )
    expiry = info.expires_at.date().isoformat() if info.expires_at else "never"
    click.echo(
        f"role {info.role}, unit {info.unit_name or '-'}, {info.max_uses} use(s), expires {expiry}"
    )


@main.command("revoke-invite")
@click.argument("code")
@click.pass_context
def revoke_invite(ctx: click.Context, code: str) -> None:
    """Make an invite code unusable (a link sent where it should not have gone)."""
    info = _run(_settings(ctx), lambda s: people.revoke_invite(s, code=code, actor=ACTOR))
    click.echo(f"revoked: {info.role} invite for {info.unit_name or '-'} ({info.uses} used)")


@main.group()
def user() -> None:
    """Registered people."""


@user.command("list")
@click.option("--unit", help="Only this unit and the units below it.")
@click.pass_context
def user_list(ctx: click.Context, unit: str | None) -> None:
    """List registered people: Telegram id, role, unit, name, active or not."""
    rows = _run(_settings(ctx), lambda s: people.list_users(s, unit=unit))
    if not rows:
        click.echo("nobody is registered yet: make invites with `hdbot invite`")
    for u in rows:
        state = "" if u.active else "  (deactivated)"
        click.echo(f"{u.telegram_id}  {u.role:<10}  {u.unit_name or '-'}  {u.name}{state}")


@user.command("deactivate")
@click.argument("telegram_id", type=int)
@click.pass_context
def user_deactivate(ctx: click.Context, telegram_id: int) -> None:
    """Take a person's access away; what they reported and did stays on record."""
    info = _run(
        _settings(ctx),
        lambda s: people.deactivate_user(s, telegram_id=telegram_id, actor=ACTOR),
    )
    click.echo(
        f"deactivated: {info.telegram_id} {info.name} ({info.role}, {info.unit_name or '-'})"
    )


# --- the ledger and statistics -------------------------------------------------------------


@main.command("export")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The workbook to write (.xlsx).",
)
@click.option("--unit", help="Only this unit and the units below it.")
@click.option(
    "--from", "date_from", callback=_parse_iso_date, help="Found on or after, YYYY-MM-DD."
)
@click.option("--to", "date_to", callback=_parse_iso_date, help="Found on or before, YYYY-MM-DD.")
@click.pass_context
def export(
    ctx: click.Context, out: Path, unit: str | None, date_from: date | None, date_to: date | None
) -> None:
    """Write the ledger ("one table and four lists", the full ledger) to a workbook.

    A period that is exactly one quarter adds the quarter's statistics sheet.
    """
    from bot.export import write_ledger
    from storage.ledger import ledger_scope

    settings = _settings(ctx)
    if out.suffix.lower() != ".xlsx":
        _fail("--out must name an .xlsx file")
    if not out.parent.is_dir():
        _fail(f"no such folder: {out.parent}")

    async def run(session: AsyncSession) -> dict[str, int]:
        await read_only(session)  # a running bot keeps writing meanwhile
        scope = await ledger_scope(session, unit=unit, date_from=date_from, date_to=date_to)
        return await write_ledger(session, scope, out, _t(settings))

    counts = _run(settings, run)
    click.echo(
        f"{out}: {counts['tasks']} tasks, {counts['hidden_dangers']} hidden dangers "
        f"({counts['major']} major), {counts['problems']} problems, {counts['risks']} risks"
        + (f", quarter sheet {counts['quarter']} units" if "quarter" in counts else "")
    )


@main.command("stats")
@click.option("--unit", help="Only this unit and the units below it.")
@click.option(
    "--from", "date_from", callback=_parse_iso_date, help="Found on or after, YYYY-MM-DD."
)
@click.option("--to", "date_to", callback=_parse_iso_date, help="Found on or before, YYYY-MM-DD.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stats(
    ctx: click.Context,
    unit: str | None,
    date_from: date | None,
    date_to: date | None,
    as_json: bool,
) -> None:
    """Found, closed, open and overdue per unit, rectification rate, days to close, trend."""
    from bot.stats_view import stats_json, stats_table
    from storage.ledger import ledger_scope, statistics

    settings = _settings(ctx)

    async def run(session: AsyncSession) -> Any:
        await read_only(session)
        scope = await ledger_scope(session, unit=unit, date_from=date_from, date_to=date_to)
        return await statistics(session, scope)

    result = _run(settings, run)
    if as_json:
        click.echo(json.dumps(stats_json(result), ensure_ascii=False, indent=2))
    else:
        click.echo(stats_table(_t(settings), result))


# --- pushes --------------------------------------------------------------------------------


@main.group()
def push() -> None:
    """Scheduled pushes: send what is due now, or see the outbox."""


@push.command("now")
@click.argument("what", type=click.Choice(["countdown", "reminders"]))
@click.option("--unit", help="Only this unit and the units below it.")
@click.option("--again", is_flag=True, help="Send even what was already sent today.")
@click.pass_context
def push_now(ctx: click.Context, what: str, unit: str | None, again: bool) -> None:
    """Queue the countdown, or the reminders and digests, now, and send them.

    Already sent today: nothing is sent again, unless --again.
    """
    settings = _settings(ctx)
    queued = _run(
        settings,
        lambda s: pushes.enqueue_due(
            s, rules=settings.push_rules, force=what, unit=unit, again=again
        ),
    )
    click.echo(
        f"queued {queued.total}: "
        + (", ".join(f"{k} {n}" for k, n in sorted(queued.counts.items())) or "nothing new")
    )
    try:
        settings.require_token()
    except ConfigError as err:
        _fail(f"queued, but not sent: {err}", 2)
    sent = asyncio.run(_send_outbox(settings))
    click.echo(f"sent {sent}; see `hdbot push status` for anything left or failed")


async def _send_outbox(settings: Settings) -> int:
    from telegram import Bot

    from bot.sender import drain

    engine = create_engine(settings.db_url)
    try:
        async with Bot(
            settings.require_token(),
            base_url=settings.base_url,
            base_file_url=settings.base_file_url,
        ) as bot:
            return await drain(bot, make_sessions(engine), settings)
    finally:
        await engine.dispose()


@push.command("status")
@click.pass_context
def push_status(ctx: click.Context) -> None:
    """List the outbox: queued, sent and failed pushes by kind, and the latest errors."""
    summary = _run(_settings(ctx), pushes.outbox_summary)
    if not summary.counts:
        click.echo("the outbox is empty")
        return
    kinds = sorted({kind for kind, _ in summary.counts})
    statuses = ["queued", "sending", "sent", "failed", "expired"]
    click.echo(f"{'kind':<14}" + "".join(f"{s:>9}" for s in statuses))
    for kind in kinds:
        click.echo(
            f"{kind:<14}" + "".join(f"{summary.counts.get((kind, s), 0):>9}" for s in statuses)
        )
    if summary.waiting:
        click.echo("\nretrying:")
        for key, kind, attempts, error, when in summary.waiting:
            click.echo(f"  {key} ({kind}) attempt {attempts}, next {when:%Y-%m-%d %H:%M}Z: {error}")
    if summary.recent_failures:
        click.echo("\nfailed:")
        for key, kind, attempts, error in summary.recent_failures:
            click.echo(f"  {key} ({kind}) after {attempts} attempts: {error}")


@main.group("push-target")
def push_target() -> None:
    """Push targets outside Telegram (WeCom group robots)."""


@push_target.command("add-wecom")
@click.option("--unit", required=True, help="The unit whose pushes the robot's group receives.")
@click.option("--key", required=True, help="The robot's webhook key (the key=… of its URL).")
@click.option(
    "--kinds", default="countdown,overdue", show_default=True, help="countdown and/or overdue."
)
@click.option("--at", "at_time", default="09:00", show_default=True, help="Time of day, HH:MM.")
@click.option("--name", default="", help="A name to recognise the group by.")
@click.pass_context
def push_target_add_wecom(
    ctx: click.Context, unit: str, key: str, kinds: str, at_time: str, name: str
) -> None:
    """Send a unit's countdown and overdue digest to a WeCom group robot."""
    target_id = _run(
        _settings(ctx),
        lambda s: pushes.add_wecom_target(
            s, unit=unit, key=key, kinds=kinds, at_time=at_time, name=name
        ),
    )
    click.echo(f"WeCom target {target_id}: {unit}, {kinds} at {at_time}")


@push_target.command("list")
@click.pass_context
def push_target_list(ctx: click.Context) -> None:
    """List the WeCom robots (keys shown by their last characters only)."""
    targets = _run(_settings(ctx), pushes.list_targets)
    if not targets:
        click.echo("no push targets: add one with `hdbot push-target add-wecom`")
    for t in targets:
        state = "on" if t.active else f"off ({t.last_error or 'removed'})"
        click.echo(f"{t.id}: {t.unit} {t.name} key {t.key_hint}, {t.kinds} at {t.at_time}, {state}")


@push_target.command("remove")
@click.argument("target_id", type=int)
@click.pass_context
def push_target_remove(ctx: click.Context, target_id: int) -> None:
    """Stop pushing to a WeCom robot."""
    _run(_settings(ctx), lambda s: pushes.remove_target(s, target_id=target_id))
    click.echo(f"push target {target_id} switched off")


if __name__ == "__main__":
    main()
