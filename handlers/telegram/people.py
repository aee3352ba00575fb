"""Who is writing: a plain view of the Telegram user, their registration and their language."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import CallbackQuery, Update
from telegram.constants import ChatType
from telegram.error import BadRequest

from bot.context import BotContext
from bot.i18n import Translator, language_for
from storage.accounts import Account
from storage.dto import UserInfo
from storage.people import who_is


@dataclass(frozen=True, slots=True)
class Caller:
    """The person behind an update, as the handlers need them."""

    telegram_id: int  # for Telegram's own matters: flood control, albums
    account: Account  # who they are to every domain operation
    first_name: str
    user: UserInfo | None
    _: Translator
    # In a group: whether the group is bound to a unit (False in private chats).
    group_bound: bool = False
    # Where the person's open report and open action (rectification, reason, …) stand.
    report_step: str | None = None
    action_step: str | None = None

    @property
    def registered(self) -> bool:
        return self.user is not None and self.user.active

    @property
    def display_name(self) -> str:
        return (self.user.name if self.user else "") or self.first_name


async def identify(update: Update, context: BotContext) -> Caller:
    """Look the sender up (once per update) and choose the language to answer in."""
    tg_user = update.effective_user
    if tg_user is None:
        raise ValueError("update without a sender")
    known = context.caller
    if known is not None and known.telegram_id == tg_user.id:
        return known
    chat = update.effective_chat
    in_group = chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
    account = Account.telegram(tg_user.id)
    async with context.reads() as session:
        visitor = await who_is(
            session, account, group_chat_id=chat.id if chat is not None and in_group else None
        )
    language = language_for(
        chosen=visitor.language,
        telegram_code=tg_user.language_code,
        default=context.settings.language,
    )
    caller = Caller(
        tg_user.id,
        account,
        tg_user.first_name or "",
        visitor.user,
        Translator(language),
        group_bound=visitor.group_bound,
        report_step=visitor.report_step,
        action_step=visitor.action_step,
    )
    context.caller = caller
    return caller


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
