"""Where a person stands in their open drafts, and the prompt of that step.

Shown again after a refused answer, an unknown command, or once an album has gone quiet.
"""

from __future__ import annotations

import logging

from telegram.error import TelegramError

from bot.context import BotContext
from bot.i18n import Translator
from bot.views.cards import telegram_photo
from bot.views.report_view import Prompt, prompt_for
from storage.accounts import Account
from storage.clock import utcnow
from storage.loop import ActionDraftView, current_action
from storage.reports import ReportReply, resume_report

logger = logging.getLogger(__name__)


async def where_they_stand(
    context: BotContext, account: Account
) -> tuple[ActionDraftView | None, ReportReply | None]:
    """The person's open action draft, else their open report at its step (either may be
    missing): what to show again after a refused answer, an unknown command or an album."""
    async with context.reads() as session:
        action = await current_action(session, account=account)
        if action is not None:
            return action, None
        return None, await resume_report(session, account=account, update_id=None)


async def send_prompt(context: BotContext, chat_id: int, _: Translator, reply: ReportReply) -> None:
    """Send the prompt of the step the report stands at (the summary card with its photo)."""
    today = reply.today or utcnow().astimezone(context.settings.tz).date()
    prompt: Prompt | None = prompt_for(_, reply, today=today)
    if prompt is None:
        return
    if prompt.photo is not None:
        try:
            await context.bot.send_photo(
                chat_id,
                await telegram_photo(prompt.photo, context.settings.photo_dir),
                caption=prompt.text,
                reply_markup=prompt.keyboard,
            )
            return
        except TelegramError:
            logger.warning("summary photo could not be sent to %s; sending text", chat_id)
    await context.bot.send_message(chat_id, prompt.text, reply_markup=prompt.keyboard)
