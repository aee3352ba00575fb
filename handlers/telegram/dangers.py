"""/mine, /overdue, /find, the hidden-danger card and the actions of the closed loop."""

from __future__ import annotations

from telegram import Message, Update

from bot.context import BotContext
from bot.i18n import Translator
from bot.push.sender import wake_sender
from bot.views.danger_view import (
    before_after_say,
    list_message,
    loop_reply,
    parse_list_callback,
    photo_albums,
    photo_pair,
    verifier_pair,
)
from bot.views.reply import Edit, Say
from handlers.telegram.people import answer_query, identify
from handlers.telegram.render import answer_message, edit_pressed, send_replies
from storage.clock import utcnow
from storage.closed_loop import (
    LoopReply,
    LoopRules,
    act,
    answer_action,
    cancel_action,
    danger_detail,
)
from storage.conversation import Input, InputKind, small_int
from storage.errors import DomainError
from storage.lists import list_dangers
from storage.permissions import Action


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
                    rules=loop_rules(context),
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
        said = (
            _("Cancelled: {number}.", number=dropped.number)
            if dropped
            else _("There was nothing to cancel.")
        )
        await send_replies(context, chat.id, [Edit(), Say(said)], pressed=query)
        return
    try:
        async with context.sessions() as session:
            reply = await answer_action(
                session,
                account=caller.account,
                update_id=update.update_id,
                given=Input(InputKind.BUTTON, button=button),
                draft_id=draft_id,
                rules=loop_rules(context),
            )
    except DomainError as err:
        await answer_query(query, _.error(err), alert=True)
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
    pair = verifier_pair(reply) if verifier_image else None
    picture = await before_after_say(_, context.settings.photo_dir, pair) if pair else None
    today = utcnow().astimezone(context.settings.tz).date()
    says = loop_reply(
        _, reply, today=today, tz_name=context.settings.timezone, before_after=picture
    )
    await send_replies(context, chat_id, says)


async def send_photos(context: BotContext, chat_id: int, _: Translator, reply: LoopReply) -> None:
    """Send a hidden danger's before-photos and latest after-photos, as albums."""
    detail = reply.detail
    if detail is None:
        return
    says = photo_albums(_, detail)
    pair = photo_pair(detail)
    picture = await before_after_say(_, context.settings.photo_dir, pair) if pair else None
    await send_replies(context, chat_id, [*says, *([picture] if picture else [])])
