"""The command menu Telegram shows, per chat type and language."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats

from bot.i18n import N_, Translator
from storage.languages import LANGUAGES

logger = logging.getLogger(__name__)

PRIVATE_COMMANDS = [
    ("report", N_("Report a hidden danger")),
    ("mine", N_("My hidden dangers")),
    ("overdue", N_("Overdue hidden dangers")),
    ("find", N_("Find by number, site or words")),
    ("stats", N_("Figures and charts of your units")),
    ("export", N_("The ledger as a spreadsheet (supervisors)")),
    ("countdown", N_("Days to the close, and the figures")),
    ("cancel", N_("Cancel what is in progress")),
    ("start", N_("Start, or register with an invite")),
    ("help", N_("What this bot does and how")),
    ("lang", N_("中文 / English")),
]

GROUP_COMMANDS = [
    ("countdown", N_("Days to the close, and the figures")),
    ("bind", N_("Bind this group to a unit")),
    ("subscribe", N_("Subscribe: countdown, overdue or reports")),
    ("unsubscribe", N_("Stop a subscription")),
    ("help", N_("What this bot does in a group")),
]

# Telegram picks the list whose language_code (two letters: "zh", "en") matches the person's
# app language.
MENU_LANGUAGES = {code.split("_")[0]: code for code in LANGUAGES}


async def register_menu(bot: Bot, *, default_language: str) -> None:
    """Set the command menu for private chats and groups, in each language."""
    targets: list[tuple[str | None, str]] = [(None, default_language)]
    targets += list(MENU_LANGUAGES.items())
    for code, language in targets:
        _ = Translator(language)
        for scope, commands in (
            (BotCommandScopeAllPrivateChats(), PRIVATE_COMMANDS),
            (BotCommandScopeAllGroupChats(), GROUP_COMMANDS),
        ):
            await bot.set_my_commands(
                [BotCommand(name, _(text)) for name, text in commands],
                scope=scope,
                language_code=code,
            )
    logger.info("command menu registered")
