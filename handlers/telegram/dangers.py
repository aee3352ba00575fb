"""/mine, /overdue, /find, the hidden-danger card and the actions of the closed loop."""

from __future__ import annotations

from telegram import Message, Update

from bot.context import BotContext
from bot.i18n import Translator
from bot.push.sender import wake_sender
from bot.views.danger_view import (
    list_message,
    loop_answer,
    parse_action_button,
    parse_list_callback,
    photos_answer,
    pressed_card,
)
from bot.views.reply import Edit, Say
from handlers.telegram.people import answer_query, identify
from handlers.telegram.render import answer_message, edit_pressed, send_replies
from storage.clock import utcnow
from storage.closed_loop import LoopReply, LoopRules
from storage.dialogue import Cancelled, press_action_button, press_card_button
from storage.errors import DomainError
from storage.lists import list_dangers


async def mine_command(update: Update, context: BotContext) -> None:
    """List what this person reported or is responsible for (supervisors: their units)."""
    await _list(update, context, "mine", "")


async def overdue_command(update: Update, context: BotContext) -> None:
    """List what is past its deadline and not closed."""
    await _list(update, context, "overdue", "")


async def find_command(update: Update, context: BotContext) -> None:
    """Find hidden dangers by number, site or words of the description."""
    await _list(update, context, "find", " ".join(context.args or []))


async def find_typed_number(update: Update, context: BotContext, number: str) -> None:
    """A hidden danger's number typed alone, with nothing open: what /find NUMBER answers."""
    await _list(update, context, "find", number.strip())


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
    await answer_message(context, message, [list_message(caller._, page)])


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
    listed = list_message(caller._, page)
    await edit_pressed(query, Edit(listed.buttons, text=listed.text))


def loop_rules(context: BotContext) -> LoopRules:
    """The closed loop's rules as this deployment sets them."""
    return LoopRules()


async def on_danger_button(update: Update, context: BotContext) -> None:
    """A button of a card: open it, show photos, or take an action (checked on the server)."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    caller = await identify(update, context)
    _ = caller._
    pressed = pressed_card(query.data or "")
    if pressed is None:
        await answer_query(query, _("This button is not valid."), alert=True)
        return
    danger_id, what = pressed
    try:
        async with context.sessions() as session:
            reply = await press_card_button(
                session,
                account=caller.account,
                update_id=update.update_id,
                danger_id=danger_id,
                what=what,
                rules=loop_rules(context),
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
    parsed = parse_action_button(query.data or "")
    if parsed is None:
        await answer_query(query, _("This button is not valid."), alert=True)
        return
    try:
        async with context.sessions() as session:
            reply = await press_action_button(
                session,
                account=caller.account,
                update_id=update.update_id,
                draft_id=parsed[0],
                button=parsed[1],
                rules=loop_rules(context),
            )
    except DomainError as err:
        await answer_query(query, _.error(err), alert=True)
        return
    if isinstance(reply, Cancelled):
        await answer_query(query)
        said = (
            _("Cancelled: {number}.", number=reply.action.number)
            if reply.action
            else _("There was nothing to cancel.")
        )
        await send_replies(context, chat.id, [Edit(), Say(said)], pressed=query)
        return
    await answer_query(query)
    if not reply.notices and isinstance(query.message, Message):
        await edit_pressed(query, Edit())
    await show_loop(context, chat.id, _, reply)


async def show_loop(
    context: BotContext,
    chat_id: int,
    _: Translator,
    reply: LoopReply,
    *,
    verifier_image: bool = True,
) -> None:
    """Send notices, the outcome, then the next prompt or the updated card."""
    if reply.done is not None:
        wake_sender(context)  # what the step queued goes out while the answer is sent
    today = utcnow().astimezone(context.settings.tz).date()
    says = await loop_answer(
        _,
        reply,
        photo_dir=context.settings.photo_dir,
        today=today,
        tz_name=context.settings.timezone,
        verifier_image=verifier_image,
    )
    await send_replies(context, chat_id, says)


async def send_photos(context: BotContext, chat_id: int, _: Translator, reply: LoopReply) -> None:
    """Send a hidden danger's before-photos and latest after-photos, as albums."""
    detail = reply.detail
    if detail is None:
        return
    says = await photos_answer(_, detail, photo_dir=context.settings.photo_dir)
    await send_replies(context, chat_id, says)
