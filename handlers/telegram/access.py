"""The door: who gets in, and who gets an answer at all.

- In private, people who are not registered may use only /start, /help and /lang; anything
  else gets the "how to register" hint, at most once in a while, and is otherwise dropped.
- In a group over its answer budget (about 20 messages a minute, pushes included) an update
  is dropped before any work: a group spamming commands cannot make the bot wait.
- In a group not bound to a unit the bot answers only /bind by a registered supervisor or
  administrator (the handler then checks the chat's admins), and /help once in a while.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.push.pacing import chat_key
from bot.views.start_view import stranger_hint
from handlers.telegram.people import answer_query, identify
from storage.dto import UserInfo
from storage.models import Role

OPEN_COMMANDS = frozenset({"start", "help", "lang"})
OPEN_CALLBACK_PREFIXES = ("lang:",)
# What a registered supervisor or administrator may say in a group not bound yet: binding it,
# and being told to bind it first.
GROUP_COMMANDS_WHEN_UNBOUND = frozenset({"bind", "subscribe", "unsubscribe"})


def command_of(update: Update) -> str | None:
    """The command a message starts with (lower case, without @bot), or None."""
    message = update.effective_message
    text = (message.text or "") if message else ""
    if not text.startswith("/") or len(text) < 2:
        return None
    return text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower()


def _has_argument(update: Update) -> bool:
    message = update.effective_message
    return len((message.text or "").split(maxsplit=1)) > 1 if message else False


def _is_open(update: Update) -> bool:
    query = update.callback_query
    if query is not None:
        return (query.data or "").startswith(OPEN_CALLBACK_PREFIXES)
    return command_of(update) in OPEN_COMMANDS


async def door(update: Update, context: BotContext) -> None:
    """Let an update through to the handlers, or stop it (with a hint, now and then)."""
    chat = update.effective_chat
    if chat is None or update.effective_user is None:
        return
    if chat.type == ChatType.PRIVATE:
        await _private(update, context)
    elif chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        await _group(update, context, chat.id)


async def _private(update: Update, context: BotContext) -> None:
    command = command_of(update)
    if command == "lang" or (update.callback_query and _is_open(update)):
        return  # choosing a language is always answered: it changes something
    if command == "start" and _has_argument(update):
        return  # an invite code: the one way in
    caller = await identify(update, context)
    if caller.registered:
        context.bot_data.flood.trust(("user", caller.telegram_id), ("chat", caller.telegram_id))
        return
    # A stranger: each kind of answer at most once in a while, nothing else.
    kind = command if command in OPEN_COMMANDS else "hint"
    told = context.bot_data.hints.due(("private", caller.telegram_id, kind))
    if kind != "hint":
        if told:
            return  # /start or /help: their handlers explain how to register
        raise ApplicationHandlerStop
    _ = caller._
    text = stranger_hint(_)
    if update.callback_query is not None:
        await answer_query(update.callback_query, text if told else None, alert=told)
    elif told and update.effective_message is not None:
        await update.effective_message.reply_text(text)
    raise ApplicationHandlerStop


async def _group(update: Update, context: BotContext, chat_id: int) -> None:
    command = command_of(update)
    if command is None and update.callback_query is None:
        raise ApplicationHandlerStop  # chatter the bot has no handler for
    if context.bot_data.sender.pacer.chat_delay(chat_key(chat_id)) > 0:
        # The group has had its share of messages this minute: an answer now would wait.
        if update.callback_query is not None:
            await answer_query(update.callback_query)
        raise ApplicationHandlerStop
    caller = await identify(update, context)
    if caller.registered:
        context.bot_data.flood.trust(("user", caller.telegram_id))
    if caller.group_bound:
        return
    if command in GROUP_COMMANDS_WHEN_UNBOUND and _may_bind(caller.user):
        return
    if command == "help" and context.bot_data.hints.due(("group", chat_id, "help")):
        return
    if update.callback_query is not None:
        await answer_query(update.callback_query)
    raise ApplicationHandlerStop


def _may_bind(user: UserInfo | None) -> bool:
    return user is not None and user.active and user.role in (Role.SUPERVISOR, Role.ADMIN)
