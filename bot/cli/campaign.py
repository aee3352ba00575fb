"""`hdbot campaign|unit|task|import-tasks|import-measures`: what the campaign is made of."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from bot.cli import (
    ACTOR,
    fail,
    main,
    parse_iso_date,
    run_operation,
    settings_of,
    words,
)
from bot.cli.tables import TableError, read_table
from bot.i18n import Translator
from bot.views.labels import SOURCE_NAMES
from storage import campaigns, tasks, units
from storage.dto import CampaignInfo
from storage.models import UnitKind


@main.group()
def campaign() -> None:
    """The campaign: name, closing date, time zone."""


@campaign.command("set")
@click.option("--name", required=True, help="The campaign's name.")
@click.option(
    "--closing-date",
    required=True,
    callback=parse_iso_date,
    help="The closing date the countdown counts to, YYYY-MM-DD.",
)
@click.option("--timezone", default=None, help="IANA time zone (default: HDBOT_TIMEZONE).")
@click.option(
    "--deadline-days",
    default=None,
    metavar="GENERAL,MAJOR",
    help="Days a report gets to be rectified unless its reporter picks a date, for a general "
    "and a major hidden danger (default 7,30).",
)
@click.pass_context
def campaign_set(
    ctx: click.Context,
    name: str,
    closing_date: date,
    timezone: str | None,
    deadline_days: str | None,
) -> None:
    """Create the campaign or change it."""
    settings = settings_of(ctx)
    _ = words(settings)
    days = _deadline_days(_, deadline_days) if deadline_days is not None else None
    info = run_operation(
        settings,
        lambda s: campaigns.set_campaign(
            s,
            name=name,
            closing_date=closing_date,
            timezone=timezone or settings.timezone,
            deadline_days=days,
            actor=ACTOR,
        ),
    )
    click.echo(
        _(
            "campaign {name}: closes {date} ({timezone})",
            name=info.name,
            date=info.closing_date.isoformat(),
            timezone=info.timezone,
        )
    )
    click.echo(_deadlines_line(_, info))


def _deadline_days(_: Translator, text: str) -> tuple[int, int]:
    days = [part.strip() for part in text.split(",")]
    if len(days) != 2 or not all(d.isascii() and d.isdecimal() and len(d) < 6 for d in days):
        fail(_("--deadline-days takes two numbers of days, like 7,30."))
    return int(days[0]), int(days[1])


def _deadlines_line(_: Translator, info: CampaignInfo) -> str:
    return _(
        "default deadlines: {general} days for a general hidden danger, {major} for a major one",
        general=info.deadline_days_general,
        major=info.deadline_days_major,
    )


@campaign.command("show")
@click.pass_context
def campaign_show(ctx: click.Context) -> None:
    """Print the campaign."""
    settings = settings_of(ctx)
    _ = words(settings)
    info = run_operation(settings, campaigns.require_campaign)
    click.echo(info.name)
    click.echo(
        _("closes {date} ({timezone})", date=info.closing_date.isoformat(), timezone=info.timezone)
    )
    click.echo(_deadlines_line(_, info))


@main.group()
def unit() -> None:
    """Units: regions and departments, as one tree under the top unit."""


@unit.command("add")
@click.argument("name")
@click.option("--parent", help="The unit above this one (only the top unit has none).")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in UnitKind]),
    default=UnitKind.REGION.value,
    show_default=True,
)
@click.pass_context
def unit_add(ctx: click.Context, name: str, parent: str | None, kind: str) -> None:
    """Add a unit (adding one that exists, the same way, changes nothing)."""
    settings = settings_of(ctx)
    _ = words(settings)
    info, created = run_operation(
        settings,
        lambda s: units.add_unit(s, name=name, kind=kind, parent=parent, actor=ACTOR),
    )
    kind_word = _("region") if info.kind == UnitKind.REGION else _("department")
    if info.parent_name:
        line = _(
            "{unit} ({kind}) under {parent}",
            unit=info.name,
            kind=kind_word,
            parent=info.parent_name,
        )
    else:
        line = _("{unit} ({kind})", unit=info.name, kind=kind_word)
    click.echo(_("added: {what}", what=line) if created else _("exists: {what}", what=line))


@unit.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def unit_list(ctx: click.Context, as_json: bool) -> None:
    """List the units as a tree."""
    settings = settings_of(ctx)
    _ = words(settings)
    rows = run_operation(settings, units.list_units)
    if as_json:
        data = [{"name": u.name, "kind": u.kind, "parent": u.parent_name} for u in rows]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(_("no units yet: add them with `hdbot unit add`"))
    for u in rows:
        kind_word = _("region") if u.kind == UnitKind.REGION else _("department")
        click.echo(f"{'  ' * u.depth}{u.name} ({kind_word})")


@main.group()
def task() -> None:
    """The campaign's rectification tasks."""


@task.command("list")
@click.option("--unit", help="Only this unit and the units below it.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def task_list(ctx: click.Context, unit: str | None, as_json: bool) -> None:
    """List the imported tasks: code, due date, status, unit, field, source, title."""
    settings = settings_of(ctx)
    _ = words(settings)
    rows = run_operation(settings, lambda s: tasks.list_tasks(s, unit=unit))
    if as_json:
        data = [
            {
                "code": t.code,
                "title": t.title,
                "source": t.source,
                "field": t.field,
                "unit": t.unit,
                "due_date": t.due_date.isoformat(),
                "status": t.status,
            }
            for t in rows
        ]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(_("no tasks yet: import them with `hdbot import-tasks FILE`"))
    for t in rows:
        source = _(SOURCE_NAMES[t.source]) if t.source in SOURCE_NAMES else t.source
        status = _("done") if t.status == "done" else _("open")
        click.echo(f"{t.code}  {t.due_date.isoformat()}  {status}  {t.unit}  {source}  {t.title}")
    click.echo(_("{count} tasks", count=len(rows)))


def _import(ctx: click.Context, file: Path, *, measures: bool) -> None:
    settings = settings_of(ctx)
    _ = words(settings)
    try:
        rows = read_table(file)
    except TableError as err:
        fail(_(err.key, **err.params))
    result = run_operation(
        settings,
        lambda s: tasks.import_tasks(
            s, rows=rows, actor=ACTOR, default_source="institutional" if measures else None
        ),
    )
    counts = {
        "file": file.name,
        "total": result.total,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
    }
    if measures:
        text = _(
            "{file}: {total} measures — {created} added, {updated} updated, {unchanged} unchanged",
            **counts,
        )
    else:
        text = _(
            "{file}: {total} tasks — {created} added, {updated} updated, {unchanged} unchanged",
            **counts,
        )
    click.echo(text)


@main.command("import-tasks")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def import_tasks(ctx: click.Context, file: Path) -> None:
    """Import campaign tasks from a CSV or XLSX file, upserting by code.

    Columns: code, title, source, field, unit, due_date. A file with any bad row imports
    nothing and lists every bad row.
    """
    _import(ctx, file, measures=False)


@main.command("import-measures")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def import_measures(ctx: click.Context, file: Path) -> None:
    """Import institutional measures (the 13 of the campaign) from a CSV or XLSX file.

    Same columns as import-tasks; the source column may be left out.
    """
    _import(ctx, file, measures=True)
