"""/export (the ledger as a workbook) and /stats (figures with charts)."""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

from telegram import Message, Update
from telegram.constants import ChatAction

from bot.context import BotContext
from bot.i18n import Translator
from bot.views.ledger_workbook import export_name, ledger_document, write_ledger
from bot.views.pictures.charts import trend_png, units_png
from bot.views.stats_view import stats_json, stats_replies, unit_label
from handlers.telegram.people import identify
from handlers.telegram.render import answer_message
from storage.clock import utcnow
from storage.errors import N_, DomainError, Invalid
from storage.ledger import FIRST_DAY, LAST_DAY, ledger_scope, statistics

logger = logging.getLogger(__name__)

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


@asynccontextmanager
async def _turn(context: BotContext, message: Message, _: Translator) -> AsyncIterator[None]:
    """Wait for one of the few places for heavy work, saying so when there is a line."""
    heavy = context.bot_data.heavy
    if heavy.locked():
        await message.reply_text(
            _("Others are making exports and figures right now; yours follows in a moment.")
        )
    async with heavy:
        yield


async def export_command(update: Update, context: BotContext) -> None:
    """Send the ledger of the person's units as a workbook."""
    caller = await identify(update, context)
    _ = caller._
    message = update.effective_message
    if message is None:
        return
    try:
        date_from, date_to = parse_period(context.args or [])
        async with context.reads() as session:
            scope = await ledger_scope(
                session, account=caller.account, date_from=date_from, date_to=date_to
            )
    except DomainError as err:
        await message.reply_text(_.error(err))
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.xlsx"
        async with _turn(context, message, _):
            await context.bot.send_chat_action(message.chat_id, ChatAction.UPLOAD_DOCUMENT)
            async with context.long_reads() as session:
                counts = await write_ledger(session, scope, path, _)
        name = export_name(scope, _, lambda: utcnow().astimezone(scope.tz).strftime("%Y%m%d-%H%M"))
        await answer_message(context, message, [ledger_document(_, counts, path, name)])


async def stats_command(update: Update, context: BotContext) -> None:
    """Figures of the person's units, with a chart by unit and the weekly trend."""
    caller = await identify(update, context)
    _ = caller._
    message = update.effective_message
    if message is None:
        return
    try:
        date_from, date_to = parse_period(context.args or [])
    except DomainError as err:
        await message.reply_text(_.error(err))
        return
    async with _turn(context, message, _):
        try:
            async with context.long_reads() as session:
                scope = await ledger_scope(
                    session,
                    account=caller.account,
                    date_from=date_from,
                    date_to=date_to,
                    managers_only=False,
                )
                stats = await statistics(session, scope)
        except DomainError as err:
            await message.reply_text(_.error(err))
            return
        data = stats_json(stats)
        units = [
            {**u, "unit": unit_label(_, row), "rate": u["rectification_rate"]}
            for u, row in zip(data["units"], stats.units, strict=True)
        ]
        units_chart = await asyncio.to_thread(units_png, _, units)
        trend_chart = await asyncio.to_thread(trend_png, _, data["weeks"])
    await answer_message(context, message, stats_replies(_, stats, units_chart, trend_chart))
