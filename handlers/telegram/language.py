"""/lang: switch between 中文 and English."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.views.labels import language_choice
from handlers.language import choose, language_named
from handlers.telegram.people import answer_query, identify
from handlers.telegram.render import answer_message, edit_pressed


async def lang_command(update: Update, context: BotContext) -> None:
    """Offer the languages as buttons."""
    caller = await identify(update, context)
    message = update.effective_message
    if message is None:
        return
    await answer_message(context, message, [language_choice(caller._)])


async def lang_chosen(update: Update, context: BotContext) -> None:
    """Store the choice and answer in the new language."""
    query = update.callback_query
    if query is None or update.effective_user is None:
        return
    language = language_named(query.data or "")
    if language is None:
        await answer_query(query)
        return
    caller = await identify(update, context)
    chosen = await choose(context.sessions, account=caller.account, language=language)
    await answer_query(query)
    await edit_pressed(query, chosen)
