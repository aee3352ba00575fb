"""Who is writing: a plain view of the Telegram user, their registration and their language."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import CallbackQuery, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.i18n import Translator, language_for
from storage.dto import UserInfo
from storage.people import chosen_language, get_user


@dataclass(frozen=True, slots=True)
class Caller:
    """The person behind an update, as the handlers need them."""

    telegram_id: int
    first_name: str
    user: UserInfo | None
    _: Translator

    @property
    def registered(self) -> bool:
        return self.user is not None and self.user.active

    @property
    def display_name(self) -> str:
        return (self.user.name if self.user else "") or self.first_name


async def identify(update: Update, context: BotContext) -> Caller:
    """Look the sender up and choose the language to answer in."""
    tg_user = update.effective_user
    if tg_user is None:
        raise ValueError("update without a sender")
    async with context.sessions() as session:
        user = await get_user(session, tg_user.id)
        chosen = await chosen_language(session, tg_user.id)
    language = language_for(
        chosen=chosen, telegram_code=tg_user.language_code, default=context.settings.language
    )
    return Caller(tg_user.id, tg_user.first_name or "", user, Translator(language))


async def answer_query(
    query: CallbackQuery, text: str | None = None, *, alert: bool = False
) -> None:
    """Answer a button press; a press replayed after a restart is too old to answer, and that
    is fine: what it asked for was already done or refused."""
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as err:
        if (
            "query is too old" not in str(err).lower()
            and "query id is invalid" not in str(err).lower()
        ):
            raise
