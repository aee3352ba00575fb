"""/lang: switch between 中文 and English."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import BotContext
from bot.i18n import Translator
from handlers.telegram.people import answer_query, identify
from storage.languages import LANGUAGES
from storage.people import choose_language


async def lang_command(update: Update, context: BotContext) -> None:
    """Offer the languages as buttons."""
    caller = await identify(update, context)
    message = update.effective_message
    if message is None:
        return
    buttons = [
        InlineKeyboardButton(name, callback_data=f"lang:{code}") for code, name in LANGUAGES.items()
    ]
    keyboard = InlineKeyboardMarkup([buttons])
    await message.reply_text(caller._("Choose your language:"), reply_markup=keyboard)


async def lang_chosen(update: Update, context: BotContext) -> None:
    """Store the choice and answer in the new language."""
    query = update.callback_query
    if query is None or update.effective_user is None:
        return
    language = (query.data or "").removeprefix("lang:")
    if language not in LANGUAGES:
        await answer_query(query)
        return
    caller = await identify(update, context)
    async with context.sessions() as session:
        await choose_language(session, account=caller.account, language=language)
    _ = Translator(language)
    await answer_query(query)
    await query.edit_message_text(_("Language set: English."))
