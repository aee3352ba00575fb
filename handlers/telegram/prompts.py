"""Where a person stands in their open drafts, and the prompt of that step.

Shown again after a refused answer, an unknown command, or once an album has gone quiet.
"""

from __future__ import annotations

from datetime import date

from bot.context import BotContext
from bot.i18n import Translator
from bot.views.report_view import prompt_for
from handlers.telegram.render import send_replies
from storage.accounts import Account
from storage.clock import utcnow
from storage.loop import ActionDraftView, current_action
from storage.reports import ReportReply, resume_report


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
    prompt = prompt_for(_, reply, today=report_today(context, reply))
    if prompt is not None:
        await send_replies(context, chat_id, [prompt])


def report_today(context: BotContext, reply: ReportReply) -> date:
    """The day quick picks of dates count from: the report's, else today in the campaign."""
    return reply.today or utcnow().astimezone(context.settings.tz).date()
