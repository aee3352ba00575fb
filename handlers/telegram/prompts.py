"""Where a person stands in their open drafts, and the prompt of that step.

Shown again after a refused answer, an unknown command, or once an album has gone quiet.
"""

from __future__ import annotations

from datetime import date

from bot.context import BotContext
from bot.i18n import Translator
from bot.views.report_view import prompt_for
from handlers.telegram.dangers import show_loop
from handlers.telegram.render import send_replies
from storage import dialogue
from storage.accounts import Account
from storage.clock import utcnow
from storage.dialogue import Answer
from storage.report import ReportReply


async def where_they_stand(context: BotContext, account: Account) -> Answer:
    """The step the person stands at (storage/dialogue.py): what to show again after a refused
    answer, an unknown command or an album."""
    async with context.reads() as session:
        return await dialogue.where_they_stand(session, account=account)


async def show_where_they_stand(
    context: BotContext, chat_id: int, _: Translator, account: Account
) -> None:
    """Send the prompt of the step the person stands at, if a draft is open."""
    answer = await where_they_stand(context, account)
    if answer.loop is not None:
        await show_loop(context, chat_id, _, answer.loop)
    elif answer.report is not None:
        await send_prompt(context, chat_id, _, answer.report)


async def send_prompt(context: BotContext, chat_id: int, _: Translator, reply: ReportReply) -> None:
    """Send the prompt of the step the report stands at (the summary card with its photo)."""
    prompt = prompt_for(_, reply, today=report_today(context, reply))
    if prompt is not None:
        await send_replies(context, chat_id, [prompt])


def report_today(context: BotContext, reply: ReportReply) -> date:
    """The day quick picks of dates count from: the report's, else today in the campaign."""
    return reply.today or utcnow().astimezone(context.settings.tz).date()
