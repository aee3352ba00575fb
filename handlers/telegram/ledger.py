"""/export (the ledger as a workbook) and /stats (figures with charts)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from telegram import Message, Update
from telegram.constants import ChatAction

from bot.context import BotContext
from bot.i18n import Translator
from handlers.ledger import export_scope, ledger_answer, parse_period, stats_answer
from handlers.telegram.people import identify
from handlers.telegram.render import answer_message
from storage.errors import DomainError

logger = logging.getLogger(__name__)


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
        scope = await export_scope(context.reads, account=caller.account, args=context.args or [])
    except DomainError as err:
        await message.reply_text(_.error(err))
        return
    with tempfile.TemporaryDirectory() as folder:
        async with _turn(context, message, _):
            await context.bot.send_chat_action(message.chat_id, ChatAction.UPLOAD_DOCUMENT)
            document = await ledger_answer(context.long_reads, scope, _, Path(folder))
        await answer_message(context, message, [document])


async def stats_command(update: Update, context: BotContext) -> None:
    """Figures of the person's units, with a chart by unit and the weekly trend."""
    caller = await identify(update, context)
    _ = caller._
    message = update.effective_message
    if message is None:
        return
    try:
        period = parse_period(context.args or [])
    except DomainError as err:
        await message.reply_text(_.error(err))
        return
    async with _turn(context, message, _):
        try:
            replies = await stats_answer(
                context.long_reads, account=caller.account, _=_, period=period
            )
        except DomainError as err:
            await message.reply_text(_.error(err))
            return
    await answer_message(context, message, replies)
