"""/lang on WeCom: the languages as buttons, a press or `/lang CODE` chooses; registered or
not, as on Telegram (handlers/language.py holds what both fronts do)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.views.labels import language_choice
from bot.views.reply import Say
from handlers.language import PRESS_PREFIX, choose, language_named

if TYPE_CHECKING:
    from handlers.wecom.turn import Turn


def asks_language(turn: Turn, command: str | None) -> bool:
    """Whether the message is /lang or a press on one of its buttons."""
    key = turn.message.event_key or ""
    return command == "lang" or key.startswith(PRESS_PREFIX)


async def lang_command(turn: Turn, argument: str) -> None:
    """Offer the languages as buttons; `/lang en` chooses at once."""
    language = language_named(argument) if argument else None
    if language is None:
        # An unknown code gets the offer too: its buttons name every language there is.
        await turn.say(language_choice(turn._))
        return
    chosen = await choose(turn.front.sessions, account=turn.account, language=language)
    turn.speak(language)
    await turn.say(Say(chosen.text or ""))


async def press_language(turn: Turn, key: str) -> None:
    """Choose the pressed language, and confirm it on the card in that language."""
    language = language_named(key)
    if language is None:
        await turn.say(Say(turn._("This button is not valid.")))
        return
    chosen = await choose(turn.front.sessions, account=turn.account, language=language)
    turn.speak(language)
    if turn.pressed is None:
        # Without the card's task id and code there is no card to change: say it instead.
        await turn.say(Say(chosen.text or ""))
    else:
        await turn.say(chosen, pressed=True)
