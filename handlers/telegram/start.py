"""/start and /help: the first things a person sees."""

from __future__ import annotations

from dataclasses import replace

from telegram import Update
from telegram.constants import ChatType

from bot.context import BotContext
from bot.views.start_view import help_text, welcome_text
from handlers.telegram.people import identify
from storage.campaigns import get_campaign
from storage.errors import DomainError
from storage.invites import redeem_invite


async def start(update: Update, context: BotContext) -> None:
    """Register with an invite code, or greet; explain how to get an invite to strangers."""
    caller = await identify(update, context)
    _ = caller._
    message = update.effective_message
    tg_user = update.effective_user
    if message is None or tg_user is None:
        return
    code = context.args[0] if context.args else None
    if code and message.chat.type == ChatType.PRIVATE:
        try:
            async with context.sessions() as session:
                user = await redeem_invite(
                    session,
                    code=code,
                    account=caller.account,
                    name=tg_user.full_name,
                    username=tg_user.username,
                )
        except DomainError as err:
            await message.reply_text(_.error(err))
            return
        caller = replace(caller, user=user)
    async with context.sessions() as session:
        campaign = await get_campaign(session)
    text = welcome_text(
        _,
        user=caller.user if caller.registered else None,
        name=caller.display_name,
        campaign=campaign,
    )
    await message.reply_text(text)


async def help_command(update: Update, context: BotContext) -> None:
    """Explain what this person can do here, by who they are and where they write."""
    caller = await identify(update, context)
    _ = caller._
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    text = help_text(_, registered=caller.registered, in_group=chat.type != ChatType.PRIVATE)
    await message.reply_text(text)
