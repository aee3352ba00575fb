"""/start and /help: the first things a person sees."""

from __future__ import annotations

from dataclasses import replace

from telegram import Update
from telegram.constants import ChatType

from bot.context import BotContext
from bot.views.labels import role_name
from handlers.telegram.people import identify
from storage.campaigns import get_campaign
from storage.errors import DomainError
from storage.people import redeem_invite


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
    title = campaign.name if campaign else _("the safety rectification campaign")
    if caller.registered and caller.user is not None:
        text = _(
            "Hello, {name}. You are registered as {role} of {unit} in {campaign}.\n"
            "Send /help to see what you can do.",
            name=caller.display_name,
            role=role_name(_, caller.user.role),
            unit=caller.user.unit_name or _("the whole campaign"),
            campaign=title,
        )
    else:
        text = _(
            "Welcome to hdbot, the hidden-danger reporting bot of {campaign}.\n\n"
            "To use it you need an invite link from your unit's administrator. "
            "Ask them for one and open it on this phone: it registers you with your role "
            "and unit.",
            campaign=title,
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
    if chat.type != ChatType.PRIVATE:
        text = _(
            "In a group, hdbot posts new hidden-danger reports, the daily countdown to the "
            "campaign's close and overdue digests for the unit the group is bound to.\n"
            "Write to me privately to report a hidden danger."
        )
    elif not caller.registered:
        text = _(
            "hdbot logs hidden dangers found in the production-safety rectification campaign "
            "and follows each one until it is rectified, verified and closed.\n\n"
            "/start — register with the invite link from your unit's administrator\n"
            "/lang — 中文 / English\n"
            "/help — this message"
        )
    else:
        text = _(
            "hdbot logs hidden dangers and follows each one until it is rectified, verified "
            "and closed.\n\n"
            "/report — log a hidden danger: task, site, field, description, photos, "
            "location, level, deadline\n"
            "/mine — what you reported or answer for (supervisors: your units)\n"
            "/overdue — what is past its deadline\n"
            "/find TEXT — find by number, site or words\n"
            "/cancel — drop what you are writing\n"
            "Open a hidden danger to rectify it, verify it, or ask for more time.\n\n"
            "/start — who you are registered as\n"
            "/lang — 中文 / English\n"
            "/help — this message"
        )
    await message.reply_text(text)
