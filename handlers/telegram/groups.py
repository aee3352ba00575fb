"""Group commands: /bind UNIT, /subscribe KIND [HH:MM], /unsubscribe KIND."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.context import BotContext
from bot.i18n import Translator
from bot.push.telegram_delivery import send_countdown
from bot.views.push_view import telegram_text
from handlers.telegram.people import identify
from storage.errors import DomainError
from storage.groups import GroupInfo, bind_group, subscribe, unsubscribe
from storage.pushes import countdown_now

KIND_WORDS = {
    "countdown": "countdown",
    "倒计时": "countdown",
    "overdue": "overdue",
    "逾期": "overdue",
    "reports": "reports",
    "report": "reports",
    "上报": "reports",
}


async def _is_chat_admin(update: Update, context: BotContext) -> bool:
    """Ask Telegram whether the sender administers this chat (never trust the client)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def _describe(_: Translator, info: GroupInfo) -> str:
    names = {
        "countdown": _("daily countdown"),
        "overdue": _("overdue digest"),
        "reports": _("new reports"),
    }
    subs = [
        names.get(kind, kind) + (f" {at}" if at else "")
        for kind, at in sorted(info.subscriptions.items())
    ]
    return _(
        "This group is bound to {unit}. Subscriptions: {subs}.",
        unit=info.unit_name or "—",
        subs=", ".join(subs) if subs else _("none"),
    )


async def _in_group(update: Update, _: Translator) -> bool:
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return False
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        await message.reply_text(_("Use this command in a group chat."))
        return False
    if message.sender_chat is not None:
        await message.reply_text(
            _("I cannot tell who sent this: please write as yourself, not anonymously.")
        )
        return False
    return True


async def bind_command(update: Update, context: BotContext) -> None:
    """Bind the group to a unit: /bind UNIT."""
    caller = await identify(update, context)
    _ = caller._
    if not await _in_group(update, _):
        return
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    unit = " ".join(context.args or [])
    if not unit:
        await message.reply_text(_("Name the unit: /bind UNIT, e.g. /bind 甘井子区"))
        return
    is_admin = await _is_chat_admin(update, context)
    try:
        async with context.sessions() as session:
            info = await bind_group(
                session,
                chat_id=chat.id,
                title=chat.title or "",
                unit=unit,
                account=caller.account,
                is_chat_admin=is_admin,
            )
    except DomainError as err:
        await message.reply_text(_.error(err))
        return
    text = _describe(_, info)
    if info.replaced:
        text = _("It was bound to {unit} until now.", unit=info.replaced) + "\n" + text
    await message.reply_text(text)


async def subscribe_command(update: Update, context: BotContext) -> None:
    """Subscribe the group: /subscribe countdown|overdue|reports [HH:MM]."""
    await _change_subscription(update, context, on=True)


async def unsubscribe_command(update: Update, context: BotContext) -> None:
    """Unsubscribe the group: /unsubscribe countdown|overdue|reports."""
    await _change_subscription(update, context, on=False)


async def _change_subscription(update: Update, context: BotContext, *, on: bool) -> None:
    caller = await identify(update, context)
    _ = caller._
    if not await _in_group(update, _):
        return
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    args = context.args or []
    kind = KIND_WORDS.get(args[0].lower()) if args else None
    if kind is None:
        await message.reply_text(
            _("Say what: /subscribe countdown|overdue|reports [HH:MM], or /unsubscribe …")
        )
        return
    is_admin = await _is_chat_admin(update, context)
    try:
        async with context.sessions() as session:
            if on:
                info = await subscribe(
                    session,
                    chat_id=chat.id,
                    title=chat.title or "",
                    kind=kind,
                    at_time=args[1] if len(args) > 1 else None,
                    account=caller.account,
                    is_chat_admin=is_admin,
                )
            else:
                info = await unsubscribe(
                    session,
                    chat_id=chat.id,
                    kind=kind,
                    account=caller.account,
                    is_chat_admin=is_admin,
                )
    except DomainError as err:
        await message.reply_text(_.error(err))
        return
    await message.reply_text(_describe(_, info))


async def countdown_command(update: Update, context: BotContext) -> None:
    """The countdown now: for the group's unit, or in private for the person's unit."""
    caller = await identify(update, context)
    _ = caller._
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return
    try:
        async with context.reads() as session:
            data = await countdown_now(
                session,
                chat_id=chat.id,
                account=caller.account,
                private=chat.type == ChatType.PRIVATE,
            )
    except DomainError as err:
        await message.reply_text(_.error(err))
        return
    if chat.type != ChatType.PRIVATE:
        _ = Translator(context.settings.language)  # a group reads the deployment's language
    await send_countdown(context.bot, chat.id, _, data, telegram_text(_, data))
