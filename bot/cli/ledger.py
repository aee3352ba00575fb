"""`hdbot export|stats`: the ledger as a workbook, and the figures."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import fail, main, parse_iso_date, run_operation, settings_of, words
from storage.db import read_only


@main.command("export")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The workbook to write (.xlsx).",
)
@click.option("--unit", help="Only this unit and the units below it.")
@click.option("--from", "date_from", callback=parse_iso_date, help="Found on or after, YYYY-MM-DD.")
@click.option("--to", "date_to", callback=parse_iso_date, help="Found on or before, YYYY-MM-DD.")
@click.pass_context
def export(
    ctx: click.Context, out: Path, unit: str | None, date_from: date | None, date_to: date | None
) -> None:
    """Write the ledger ("one table and four lists", the full ledger) to a workbook.

    A period that is exactly one quarter adds the quarter's statistics sheet.
    """
    from bot.views.ledger_workbook import write_ledger
    from storage.ledger import ledger_scope

    settings = settings_of(ctx)
    _ = words(settings)
    if out.suffix.lower() != ".xlsx":
        fail(_("--out must name an .xlsx file"))
    if not out.parent.is_dir():
        fail(_("no such folder: {path}", path=out.parent))

    async def run(session: AsyncSession) -> dict[str, int]:
        await read_only(session)  # a running bot keeps writing meanwhile
        scope = await ledger_scope(session, unit=unit, date_from=date_from, date_to=date_to)
        return await write_ledger(session, scope, out, _)

    counts = run_operation(settings, run)
    line = _(
        "{file}: {tasks} tasks, {dangers} hidden dangers ({major} major), {problems} problems, "
        "{risks} risks",
        file=out,
        tasks=counts["tasks"],
        dangers=counts["hidden_dangers"],
        major=counts["major"],
        problems=counts["problems"],
        risks=counts["risks"],
    )
    if "quarter" in counts:
        line += _(", quarter sheet {units} units", units=counts["quarter"])
    click.echo(line)


@main.command("stats")
@click.option("--unit", help="Only this unit and the units below it.")
@click.option("--from", "date_from", callback=parse_iso_date, help="Found on or after, YYYY-MM-DD.")
@click.option("--to", "date_to", callback=parse_iso_date, help="Found on or before, YYYY-MM-DD.")
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
    from bot.views.stats_view import stats_json, stats_table
    from storage.ledger import ledger_scope, statistics

    settings = settings_of(ctx)

    async def run(session: AsyncSession) -> Any:
        await read_only(session)
        scope = await ledger_scope(session, unit=unit, date_from=date_from, date_to=date_to)
        return await statistics(session, scope)

    result = run_operation(settings, run)
    if as_json:
        click.echo(json.dumps(stats_json(result), ensure_ascii=False, indent=2))
    else:
        click.echo(stats_table(words(settings), result))
