"""Replies in Telegram's terms: the views' plain data (bot/views/reply.py) as Bot API calls.

- A `Say` is one sendMessage, sendPhoto, sendMediaGroup or sendDocument. Its buttons become an
  inline keyboard, its `Ask` a reply keyboard that requests the location, `clear_ask` a
  ReplyKeyboardRemove.
- The text captions the picture or document when it fits Telegram's 1,024 UTF-16 units (and
  an album, which cannot carry a keyboard, has none to carry); otherwise it follows in a
  message of its own, with the keyboard.
- A picture Telegram will not take costs the person only the picture: the text goes alone.
- An `Edit` changes the message whose button was pressed. One that only takes the buttons
  away tidies: what goes wrong there is logged, never in the way of the answer that follows.
  One that shows something (a page, a menu) is the answer, and its failure is raised.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)
from telegram.constants import ChatType, MessageLimit
from telegram.error import BadRequest, TelegramError

from bot.context import BotContext
from bot.views.cards import CAPTION_LIMIT, telegram_photo
from bot.views.labels import telegram_length
from bot.views.reply import Ask, Buttons, Edit, Picture, Reply, Say

logger = logging.getLogger(__name__)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


async def send_replies(
    context: BotContext,
    chat_id: int,
    replies: Iterable[Reply],
    *,
    pressed: CallbackQuery | None = None,
    quote: int | None = None,
) -> None:
    """Send the replies in order; an `Edit` changes the message of the button `pressed`.

    `quote` is the id of a message the sent ones answer (shown above them).
    """
    for reply in replies:
        if isinstance(reply, Edit):
            if pressed is None:
                raise ValueError("an Edit changes the message of a pressed button: none given")
            await edit_pressed(pressed, reply)
        else:
            await say_in_chat(
                context.bot, chat_id, reply, photo_dir=context.settings.photo_dir, quote=quote
            )


async def answer_message(context: BotContext, message: Message, replies: Iterable[Reply]) -> None:
    """Answer a message in its chat; in a group the answer quotes it, as Message.reply_text
    does, so that it is read beside the command it answers."""
    quote = message.message_id if message.chat.type != ChatType.PRIVATE else None
    await send_replies(context, message.chat_id, replies, quote=quote)


def inline_keyboard(buttons: Buttons) -> InlineKeyboardMarkup | None:
    """The buttons as an inline keyboard; None without any (Telegram refuses an empty one)."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.action) for b in row] for row in buttons]
    )


def _location_keyboard(ask: Ask) -> ReplyKeyboardMarkup:
    rows = [[KeyboardButton(ask.location, request_location=True)]]
    rows.extend([KeyboardButton(label)] for label in ask.replies)
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


def _markup(say: Say) -> Markup | None:
    kinds: list[Markup | None] = [
        inline_keyboard(say.buttons),
        _location_keyboard(say.ask) if say.ask is not None else None,
        ReplyKeyboardRemove() if say.clear_ask else None,
    ]
    chosen = [markup for markup in kinds if markup is not None]
    if len(chosen) > 1:
        raise ValueError("a Telegram message carries one keyboard: buttons, an ask, or clear_ask")
    return chosen[0] if chosen else None


async def say_in_chat(
    bot: Bot, chat_id: int, say: Say, *, photo_dir: Path, quote: int | None = None
) -> None:
    """Send one `Say`; stored photos are found under `photo_dir`."""
    markup = _markup(say)
    answering = ReplyParameters(quote) if quote is not None else None
    pictures = (say.photo,) if say.photo is not None else say.photos
    if say.document is None and not pictures:
        await bot.send_message(chat_id, say.text, reply_markup=markup, reply_parameters=answering)
        return
    captioned = telegram_length(say.text) <= CAPTION_LIMIT and (
        markup is None or len(pictures) <= 1
    )
    caption = (say.text or None) if captioned else None
    keyboard = markup if captioned else None
    if say.document is not None:
        with say.document.path.open("rb") as file:
            await bot.send_document(
                chat_id,
                file,
                filename=say.document.filename,
                caption=caption,
                reply_markup=keyboard,
                reply_parameters=answering,
            )
    else:
        try:
            await _send_pictures(
                bot, chat_id, pictures, caption, keyboard, photo_dir=photo_dir, answering=answering
            )
        except TelegramError as err:
            logger.warning("pictures could not be sent to %s (%s); sending the text", chat_id, err)
            captioned = False
    if not captioned and say.text:
        await bot.send_message(chat_id, say.text, reply_markup=markup, reply_parameters=answering)


async def _send_pictures(
    bot: Bot,
    chat_id: int,
    pictures: Sequence[Picture],
    caption: str | None,
    keyboard: Markup | None,
    *,
    photo_dir: Path,
    answering: ReplyParameters | None,
) -> None:
    files = [
        picture if isinstance(picture, bytes) else await telegram_photo(picture, photo_dir)
        for picture in pictures
    ]
    if len(files) == 1:
        await bot.send_photo(
            chat_id, files[0], caption=caption, reply_markup=keyboard, reply_parameters=answering
        )
        return
    media = [
        InputMediaPhoto(file, caption=caption if i == 0 else None) for i, file in enumerate(files)
    ]
    await bot.send_media_group(chat_id, media, reply_parameters=answering)


async def settle_pressed(pressed: CallbackQuery) -> None:
    """The answer is taken: take the pressed message's buttons away, and write under its text
    which one was pressed, so the chat reads as questions and answers."""
    message = pressed.message
    label = None
    if isinstance(message, Message) and message.reply_markup is not None:
        label = next(
            (
                button.text
                for row in message.reply_markup.inline_keyboard
                for button in row
                if button.callback_data == pressed.data
            ),
            None,
        )
    if isinstance(message, Message) and message.text and label:
        text = f"{message.text}\n→ {label}"
        if telegram_length(text) <= MessageLimit.MAX_TEXT_LENGTH:
            try:
                await pressed.edit_message_text(text, entities=message.entities, reply_markup=None)
                return
            except TelegramError as err:
                logger.warning("a pressed message could not be marked (%s)", err)
    await edit_pressed(pressed, Edit())


async def edit_pressed(pressed: CallbackQuery, edit: Edit) -> None:
    """Change the message whose button was pressed (its buttons, and its text when given)."""
    markup = inline_keyboard(edit.buttons)
    try:
        if edit.text is not None:
            await pressed.edit_message_text(edit.text, reply_markup=markup)
        else:
            await pressed.edit_message_reply_markup(markup)
    except TelegramError as err:
        if isinstance(err, BadRequest) and "not modified" in str(err):
            return  # a second press on the same page: it shows what it should already
        if edit.text is not None or edit.buttons:
            raise  # the edit is the answer: the person must hear that it failed
        logger.warning("buttons of a pressed message could not be taken away (%s)", err)
