"""The door: people who are not registered may use only /start, /help and /lang."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.people import answer_query, identify

OPEN_COMMANDS = frozenset({"start", "help", "lang"})
OPEN_CALLBACK_PREFIXES = ("lang:",)


def _is_open(update: Update) -> bool:
    query = update.callback_query
    if query is not None:
        return (query.data or "").startswith(OPEN_CALLBACK_PREFIXES)
    message = update.effective_message
    text = (message.text or "") if message else ""
    if not text.startswith("/"):
        return False
    command = text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""
    return command in OPEN_COMMANDS


async def registered_only(update: Update, context: BotContext) -> None:
    """Stop every private update from a stranger except the open commands, with a hint."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE or update.effective_user is None:
        return
    if _is_open(update):
        return
    caller = await identify(update, context)
    if caller.registered:
        return
    _ = caller._
    text = _(
        "You are not registered yet. Open the invite link your unit's administrator gave you, "
        "or send /help."
    )
    if update.callback_query is not None:
        await answer_query(update.callback_query, text, alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
    raise ApplicationHandlerStop
