"""What /stats and /export answer, on any front: the figures with their charts, and the ledger
as a workbook.

Both fronts call these and add their own manners around them (Telegram's "sending a file…",
a place in the line for heavy work); what is counted and what is said is the same.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date
from pathlib import Path

from bot.i18n import Translator
from bot.views.ledger_workbook import export_name, ledger_document, write_ledger
from bot.views.pictures.charts import trend_png, units_png
from bot.views.reply import Reply, Say
from bot.views.stats_view import stats_json, stats_replies, unit_label
from storage.accounts import Account
from storage.clock import utcnow
from storage.db import Sessions
from storage.errors import N_, Invalid
from storage.ledger import FIRST_DAY, LAST_DAY, LedgerScope, ledger_scope, statistics

QUARTER = re.compile(r"^(\d{4})\s*-?\s*[Qq]([1-4])$")


def parse_period(args: list[str]) -> tuple[date | None, date | None]:
    """No arguments, a quarter (2026Q4, 2026-Q4), or two dates (2026-10-01 2026-12-31)."""
    if not args:
        return None, None
    if len(args) == 1 and (match := QUARTER.match(args[0])):
        year, quarter = int(match[1]), int(match[2])
        if not FIRST_DAY.year <= year <= LAST_DAY.year:
            raise Invalid(
                N_("Give dates between {first} and {last}."),
                first=FIRST_DAY.isoformat(),
                last=LAST_DAY.isoformat(),
            )
        start = date(year, 3 * quarter - 2, 1)
        end = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
        return start, date.fromordinal(end.toordinal() - 1)
    if len(args) == 2:
        try:
            return date.fromisoformat(args[0]), date.fromisoformat(args[1])
        except ValueError:
            pass
    raise Invalid(
        N_("Give a quarter (2026Q4) or two dates (2026-10-01 2026-12-31), or nothing for all.")
    )


async def export_scope(sessions: Sessions, *, account: Account, args: list[str]) -> LedgerScope:
    """What the person's /export covers (refused before any heavy work when they may not)."""
    date_from, date_to = parse_period(args)
    async with sessions() as session:
        return await ledger_scope(session, account=account, date_from=date_from, date_to=date_to)


async def ledger_answer(sessions: Sessions, scope: LedgerScope, _: Translator, folder: Path) -> Say:
    """The ledger as a workbook written into `folder`, with its caption."""
    path = folder / "ledger.xlsx"
    async with sessions() as session:
        counts = await write_ledger(session, scope, path, _)
    name = export_name(scope, _, lambda: utcnow().astimezone(scope.tz).strftime("%Y%m%d-%H%M"))
    return ledger_document(_, counts, path, name)


async def stats_answer(
    sessions: Sessions,
    *,
    account: Account,
    _: Translator,
    period: tuple[date | None, date | None],
) -> list[Reply]:
    """Figures of the person's units, with a chart by unit and the weekly trend."""
    date_from, date_to = period
    async with sessions() as session:
        scope = await ledger_scope(
            session, account=account, date_from=date_from, date_to=date_to, managers_only=False
        )
        stats = await statistics(session, scope)
    data = stats_json(stats)
    units = [
        {**u, "unit": unit_label(_, row), "rate": u["rectification_rate"]}
        for u, row in zip(data["units"], stats.units, strict=True)
    ]
    units_chart = await asyncio.to_thread(units_png, _, units)
    trend_chart = await asyncio.to_thread(trend_png, _, data["weeks"])
    return list(stats_replies(_, stats, units_chart, trend_chart))
