"""What /lang does, on any front: which language a press or an argument names, and the choice
remembered and confirmed in that language.

Both fronts offer the same `lang:CODE` buttons (bot/views/labels.py) and call these; each
renders the confirmation in its own terms (Telegram edits the pressed message, WeCom the
pressed card, or says it when the language was typed).
"""

from __future__ import annotations

from bot.i18n import Translator
from bot.views.labels import language_chosen
from bot.views.reply import Edit
from storage.accounts import Account
from storage.db import Sessions
from storage.languages import LANGUAGES
from storage.people import choose_language

PRESS_PREFIX = "lang:"


def language_named(text: str) -> str | None:
    """The language a `lang:CODE` press or a typed code names, if hdbot speaks it."""
    code = text.strip().removeprefix(PRESS_PREFIX)
    return code if code in LANGUAGES else None


async def choose(sessions: Sessions, *, account: Account, language: str) -> Edit:
    """Remember an account's language and confirm it in that language."""
    async with sessions() as session:
        await choose_language(session, account=account, language=language)
    return language_chosen(Translator(language))
