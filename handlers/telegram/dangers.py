"""/mine, /overdue, /find, the hidden-danger card and the actions of the closed loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import InputMediaPhoto, Message, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.i18n import Translator
from bot.push.sender import wake_sender
from bot.views.cards import telegram_photo
from bot.views.danger_view import (
    action_prompt,
    card_keyboard,
    card_text,
    list_message,
    parse_list_callback,
)
from bot.views.pictures.before_after import before_after
from handlers.telegram.people import answer_query, identify
from storage.clock import utcnow
from storage.conversation import Input, InputKind, small_int
from storage.errors import DomainError
from storage.lists import list_dangers
from storage.loop import (
    LoopReply,
    LoopRules,
    act,
    answer_action,
    cancel_action,
    danger_detail,
)
from storage.permissions import Action

logger = logging.getLogger(__name__)


async def mine_command(update: Update, context: BotContext) -> None:
    """List what this person reported or is responsible for (supervisors: their units)."""
    await _list(update, context, "mine", "")


async def overdue_command(update: Update, context: BotContext) -> None:
    """List what is past its deadline and not closed."""
    await _list(update, context, "overdue", "")


async def find_command(update: Update, context: BotContext) -> None:
    """Find hidden dangers by number, site or words of the description."""
    await _list(update, context, "find", " ".join(context.args or []))


async def _list(update: Update, context: BotContext, scope: str, query: str) -> None:
    caller = await identify(update, context)
    message = update.effective_message
    if message is None:
        return
    try:
        async with context.reads() as session:
            page = await list_dangers(session, account=caller.account, scope=scope, query=query)
    except DomainError as err:
        await message.reply_text(caller._.error(err))
        return
    text, keyboard = list_message(caller._, page)
    await message.reply_text(text, reply_markup=keyboard)


async def on_list_page(update: Update, context: BotContext) -> None:
    """◀ ▶ on a list: edit it in place."""
    query = update.callback_query
    if query is None:
        return
    caller = await identify(update, context)
    parsed = parse_list_callback(query.data or "")
    if parsed is None:
        await answer_query(query, caller._("This button is not valid."), alert=True)
        return
    scope, page_number, text = parsed
    try:
        async with context.reads() as session:
            page = await list_dangers(
                session, account=caller.account, scope=scope, query=text, page=page_number
            )
    except DomainError as err:
        await answer_query(query, caller._.error(err), alert=True)
        return
    await answer_query(query)
    body, keyboard = list_message(caller._, page)
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(body, reply_markup=keyboard)


def _rules(context: BotContext) -> LoopRules:
    return LoopRules()


async def on_danger_button(update: Update, context: BotContext) -> None:
    """A button of a card: open it, show photos, or take an action (checked on the server)."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    caller = await identify(update, context)
    _ = caller._
    parts = (query.data or "").split(":")
    danger_id = small_int(parts[1]) if len(parts) == 3 else None
    if danger_id is None or danger_id < 0:
        await answer_query(query, _("This button is not valid."), alert=True)
        return
    what = parts[2]
    action = Action(what) if what in set(Action) else None
    if action is None and what not in ("open", "photos"):
        await answer_query(query, _("This button is not valid."), alert=True)
        return
    try:
        if action is None:
            async with context.reads() as session:
                detail = await danger_detail(
                    session,
                    account=caller.account,
                    danger_id=danger_id,
                    rules=_rules(context),
                )
            reply = LoopReply(detail=detail)
        else:
            async with context.sessions() as session:
                reply = await act(
                    session,
                    account=caller.account,
                    danger_id=danger_id,
                    action=action,
                    update_id=update.update_id,
                    rules=_rules(context),
                )
    except DomainError as err:
        await answer_query(query, _.error(err), alert=True)
        return
    await answer_query(query)
    if what == "photos" and reply.detail is not None:
        await send_photos(context, chat.id, _, reply)
        return
    await show_loop(context, chat.id, _, reply, verifier_image=what == "open")


async def on_action_button(update: Update, context: BotContext) -> None:
    """A button of an action prompt (Done, Submit, +N days, Cancel)."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    caller = await identify(update, context)
    _ = caller._
    parts = (query.data or "").split(":", 2)
    draft_id = small_int(parts[1]) if len(parts) == 3 else None
    if draft_id is None or draft_id < 0:
        await answer_query(query, _("This button is not valid."), alert=True)
        return
    button = parts[2]
    if button == "cancel":
        try:
            async with context.sessions() as session:
                dropped = await cancel_action(
                    session, account=caller.account, update_id=update.update_id
                )
        except DomainError as err:
            await answer_query(query, _.error(err), alert=True)
            return
        await answer_query(query)
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(None)
        await context.bot.send_message(
            chat.id,
            _("Cancelled: {number}.", number=dropped.number)
            if dropped
            else _("There was nothing to cancel."),
        )
        return
    try:
        async with context.sessions() as session:
            reply = await answer_action(
                session,
                account=caller.account,
                update_id=update.update_id,
                given=Input(InputKind.BUTTON, button=button),
                draft_id=draft_id,
                rules=_rules(context),
            )
    except DomainError as err:
        await answer_query(query, _.error(err), alert=True)
        return
    await answer_query(query)
    if not reply.notices and isinstance(query.message, Message):
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(None)
    await show_loop(context, chat.id, _, reply)


async def answer_action_message(
    update: Update, context: BotContext, given: Input, _: Translator
) -> LoopReply | None:
    """Give a typed answer (text, photo) to the open action draft; None when it was refused."""
    chat = update.effective_chat
    if update.effective_user is None or chat is None:
        return None
    caller = await identify(update, context)
    try:
        async with context.sessions() as session:
            reply = await answer_action(
                session,
                account=caller.account,
                update_id=update.update_id,
                given=given,
                rules=_rules(context),
            )
    except DomainError as err:
        await context.bot.send_message(chat.id, _.error(err))
        return None
    return reply


async def show_loop(
    context: BotContext,
    chat_id: int,
    _: Translator,
    reply: LoopReply,
    *,
    verifier_image: bool = True,
) -> None:
    """Send notices, the outcome, then the next prompt or the updated card."""
    for notice in reply.notices:
        await context.bot.send_message(chat_id, _(notice.key, **notice.params))
    if reply.done is not None:
        await context.bot.send_message(chat_id, _(reply.done.key, **reply.done.params))
        wake_sender(context)
    if reply.draft is not None and (reply.prompt or reply.duplicate_update):
        today = utcnow().astimezone(context.settings.tz).date()
        text, keyboard = action_prompt(_, reply.draft, today=today)
        await context.bot.send_message(chat_id, text, reply_markup=keyboard)
        return
    detail = reply.detail
    if detail is None:
        return
    if verifier_image and Action.APPROVE in detail.actions and detail.after_paths:
        await _send_before_after(context, chat_id, _, detail.before_paths, detail.after_paths)
    await context.bot.send_message(
        chat_id,
        card_text(_, detail, tz_name=context.settings.timezone),
        reply_markup=card_keyboard(_, detail),
    )


async def _send_before_after(
    context: BotContext, chat_id: int, _: Translator, before: list[str], after: list[str]
) -> None:
    if not before or not after:
        return
    root = context.settings.photo_dir
    try:
        image = await asyncio.to_thread(
            before_after, root / before[0], root / after[0], (_("Before"), _("After"))
        )
    except Exception:  # the card matters more than the picture: go on without it
        logger.warning(
            "before/after image could not be made from %s, %s", before[0], after[0], exc_info=True
        )
        return
    await context.bot.send_photo(chat_id, image, caption=_("Before and after rectification"))


async def send_photos(context: BotContext, chat_id: int, _: Translator, reply: LoopReply) -> None:
    """Send a hidden danger's before-photos and latest after-photos, as albums."""
    detail = reply.detail
    if detail is None:
        return
    root = context.settings.photo_dir
    for refs, label in (
        (detail.card.before_photos, _("Before: {number}", number=detail.card.number)),
        (detail.card.after_photos, _("After: {number}", number=detail.card.number)),
    ):
        if not refs:
            continue
        media = [
            InputMediaPhoto(await telegram_photo(ref, root), caption=label if i == 0 else None)
            for i, ref in enumerate(refs[:10])
        ]
        if len(media) == 1:
            await context.bot.send_photo(chat_id, media[0].media, caption=label)
        else:
            await context.bot.send_media_group(chat_id, media)
    await _send_before_after(context, chat_id, _, detail.before_paths, detail.after_paths)
