"""/report, /cancel and every answer of the report conversation.

The conversation's state is the draft in the database (see storage/report/), not PTB's
ConversationHandler: a draft survives a crash or restart, and another bot process can carry
on with it. These handlers only turn Telegram messages into `Input` and render replies.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.i18n import Translator
from bot.push.sender import wake_sender
from bot.views.reply import Edit
from bot.views.report_view import (
    location_noted,
    report_reply,
    task_keyboard,
)
from bot.views.report_words import parse_button, report_kind, report_usage, typed_location_button
from handlers.telegram.albums import answer_album_later, first_of_album_at_wrong_step
from handlers.telegram.dangers import find_typed_number, loop_rules, show_loop
from handlers.telegram.people import Caller, answer_query, identify
from handlers.telegram.prompts import report_today, show_where_they_stand
from handlers.telegram.render import edit_pressed, send_replies, settle_pressed
from storage.accounts import Account
from storage.clock import utcnow
from storage.conversation import Input, InputKind, NewPhoto
from storage.dialogue import (
    Answer,
    Awaited,
    Cancelled,
    answer_message,
    cancel_drafts,
    press_report_button,
)
from storage.errors import N_, DomainError, Invalid
from storage.photos import MAX_PHOTO_BYTES, PhotoStore
from storage.report import HELD_ANSWERS, Area, ReportReply, ReportRules, Step, begin_report
from storage.search import is_number
from storage.uploads import check_room, upload_room

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (
    ".jpg",
    ".jpeg",
    ".png",
    ".webp",
    ".heic",
    ".heif",
    ".gif",
    ".bmp",
    ".tif",
    ".tiff",
)


def _rules(context: BotContext) -> ReportRules:
    box = context.settings.area_box
    return ReportRules(
        area=Area(*box) if box else None, number_prefix=context.settings.number_prefix
    )


async def report_command(update: Update, context: BotContext) -> None:
    """Start a report, or offer to resume the open one."""
    caller = await identify(update, context)
    kind = report_kind((context.args or [""])[0])
    if kind is None:
        await _say(update, report_usage(caller._))
        return
    try:
        async with context.sessions() as session:
            reply = await begin_report(
                session, account=caller.account, update_id=update.update_id, kind=kind
            )
    except DomainError as err:
        await _say(update, caller._.error(err))
        return
    await show(update, context, caller._, reply)


async def cancel_command(update: Update, context: BotContext) -> None:
    """Throw the open draft away (a pending action first) and say what was in it."""
    caller = await identify(update, context)
    try:
        async with context.sessions() as session:
            outcome = await cancel_drafts(
                session, account=caller.account, update_id=update.update_id
            )
    except DomainError as err:
        await _say(update, caller._.error(err))
        return
    if isinstance(outcome, Cancelled):
        assert outcome.action is not None  # cancel_drafts discards the report otherwise
        await _say(update, caller._("Cancelled: {number}.", number=outcome.action.number))
        return
    await show(update, context, caller._, outcome)


async def on_button(update: Update, context: BotContext) -> None:
    """A press on one of the report's inline buttons."""
    query = update.callback_query
    if query is None:
        return
    caller = await identify(update, context)
    _ = caller._
    parsed = parse_button(query.data or "")
    if parsed is None:
        await answer_query(query, _("This button is not valid."), alert=True)
        return
    draft_id, action = parsed
    try:
        async with context.sessions() as session:
            reply = await press_report_button(
                session,
                account=caller.account,
                update_id=update.update_id,
                draft_id=draft_id,
                action=action,
                rules=_rules(context),
            )
    except DomainError as err:
        await answer_query(query, _.error(err), alert=True)
        return
    await answer_query(query)
    if action.startswith(("page:", "all")) and reply.tasks is not None and not reply.notices:
        # Paging edits the list in place instead of sending a new one.
        await edit_pressed(query, Edit(task_keyboard(_, draft_id, reply.tasks, reply.likely_tasks)))
        return
    if (not reply.notices or action in HELD_ANSWERS) and isinstance(query.message, Message):
        # The answer is taken: its buttons must not be pressed again (the held photos'
        # question says how it was answered, and is answered all the same).
        await settle_pressed(query)
    await show(update, context, _, reply)


async def on_message(update: Update, context: BotContext) -> None:
    """Any private message that is not a command: an answer to the draft it answers."""
    message = update.effective_message
    if message is None:
        return
    caller = await identify(update, context)
    _ = caller._
    awaited = Awaited(caller.report_step, caller.action_step)
    picture = bool(message.photo or (message.document and _is_image(message)))
    # With nothing open, a picture begins a report (photo first); anything else gets the hint.
    if awaited.flow is None and not picture:
        if message.text and is_number(message.text):
            await find_typed_number(update, context, message.text)
            return
        await message.reply_text(
            _("To log a hidden danger, send /report. /help shows everything I can do.")
        )
        return
    album_at_wrong_step = bool(
        message.media_group_id and (message.photo or message.document) and not awaited.wants_photo
    )
    # An album at the wrong step: one hint for the album, not one per picture.
    if album_at_wrong_step and not await first_of_album_at_wrong_step(
        context, message, telegram_id=caller.telegram_id, language=_.language
    ):
        return
    try:
        given = await _input_from(message, context, caller.account, awaited)
    except DomainError as err:
        # A photo the store refused: say why, then the same step again, as for any wrong input.
        await message.reply_text(_.error(err))
        await show_where_they_stand(context, message.chat_id, _, caller.account)
        return
    try:
        async with context.sessions() as session:
            answer = await answer_message(
                session,
                account=caller.account,
                awaited=awaited,
                update_id=update.update_id,
                given=given,
                report_rules=_rules(context),
                loop_rules=loop_rules(context),
            )
    except DomainError as err:
        await message.reply_text(_.error(err))
        return
    await _show_answer(update, context, message, caller, awaited, given, answer)


async def _show_answer(
    update: Update,
    context: BotContext,
    message: Message,
    caller: Caller,
    awaited: Awaited,
    given: Input,
    answer: Answer,
) -> None:
    """Show what the message moved the draft to: the next step, or the album's one answer."""
    _ = caller._
    report = answer.report
    draft = report.draft if report is not None else None
    if awaited.wants_location and draft is not None and draft.step != Step.LOCATION:
        await send_replies(context, message.chat_id, [location_noted(_, draft)])
    if given.kind == InputKind.PHOTO and message.media_group_id and not answer.notices:
        # The album is answered once, when it has gone quiet.
        await answer_album_later(
            context,
            message,
            telegram_id=caller.telegram_id,
            language=_.language,
            update_id=update.update_id,
        )
        return
    if answer.loop is not None:
        await show_loop(context, message.chat_id, _, answer.loop)
    elif report is not None:
        await show(update, context, _, report)


async def _input_from(
    message: Message, context: BotContext, account: Account, awaited: Awaited
) -> Input:
    """Turn a Telegram message into a plain input (downloading photos only when wanted)."""
    if message.location is not None:
        venue = message.venue
        address = None
        if venue is not None:
            address = ", ".join(p for p in (venue.title, venue.address) if p)
        return Input(
            InputKind.LOCATION,
            latitude=message.location.latitude,
            longitude=message.location.longitude,
            address=address,
        )
    if message.photo or (message.document and _is_image(message)):
        if not awaited.wants_photo:
            return Input(InputKind.PHOTO)
        photo = await _download_photo(message, context, account, held=awaited.photo_held)
        # The caption is the description of a report the photo begins (one photo of an album
        # carries it, usually the first).
        return Input(
            InputKind.PHOTO,
            photo=photo,
            text=message.caption or "",
            album=message.media_group_id,
        )
    if message.text is not None:
        pressed = typed_location_button(message.text) if awaited.wants_location else None
        if pressed is not None:
            return Input(InputKind.BUTTON, button=pressed)
        return Input(InputKind.TEXT, text=message.text)
    if message.document is not None:
        return Input(InputKind.OTHER, what="document")
    return Input(InputKind.OTHER, what="other")


def _is_image(message: Message) -> bool:
    document = message.document
    if document is None:
        return False
    mime = (document.mime_type or "").lower()
    name = (document.file_name or "").lower()
    return mime.startswith("image/") or name.endswith(IMAGE_SUFFIXES)


async def _download_photo(
    message: Message, context: BotContext, account: Account, *, held: bool
) -> NewPhoto:
    """Fetch the photo's bytes from Telegram and keep them in the photo store."""
    source = "photo"
    if message.photo:
        best = message.photo[-1]
        file_id, unique_id, size = best.file_id, best.file_unique_id, best.file_size
    else:
        source = "document"
        assert message.document is not None
        file_id = message.document.file_id
        unique_id = message.document.file_unique_id
        size = message.document.file_size
    if size is not None and size > MAX_PHOTO_BYTES:
        raise Invalid(N_("The image is larger than {limit_mb} MB."), limit_mb=MAX_PHOTO_BYTES >> 20)
    # Before the download: a photo that will not fit costs neither bandwidth nor disk.
    async with context.reads() as session:
        room = await upload_room(session, account=account, now=utcnow())
    check_room(room, size=size, bytes_a_day=context.settings.photo_mb_per_day << 20, held=held)
    try:
        tg_file = await context.bot.get_file(file_id)
        data = bytes(await tg_file.download_as_bytearray())
    except BadRequest as err:
        if "too big" in str(err).lower():
            raise Invalid(
                N_("The image is larger than {limit_mb} MB."), limit_mb=MAX_PHOTO_BYTES >> 20
            ) from err
        raise
    return await PhotoStore(context.settings.photo_dir).keep(
        data,
        local_tz=context.settings.tz,
        file_id=file_id,
        file_unique_id=unique_id,
        source=source,
    )


async def unknown_command(update: Update, context: BotContext) -> None:
    """A mistyped or unknown command: say so, and show where the person's draft stands."""
    message = update.effective_message
    if message is None:
        return
    caller = await identify(update, context)
    _ = caller._
    await message.reply_text(_("I do not know that command. /help lists what I can do."))
    if caller.action_step is None and caller.report_step is None:
        return
    await show_where_they_stand(context, message.chat_id, _, caller.account)


async def unknown_button(update: Update, context: BotContext) -> None:
    """A press no handler knows (a forged or very old button): say so, stop the spinner."""
    query = update.callback_query
    if query is None:
        return
    caller = await identify(update, context)
    await answer_query(query, caller._("This button is not valid."), alert=True)


async def _say(update: Update, text: str) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(text)


async def show(update: Update, context: BotContext, _: Translator, reply: ReportReply) -> None:
    """Send what the reply asks for: notices, outcome, then the prompt of the current step."""
    chat = update.effective_chat
    if chat is None:
        return
    await send_replies(context, chat.id, report_reply(_, reply, today=report_today(context, reply)))
    if reply.submitted is not None:
        wake_sender(context)
