"""Pushes to Telegram chats: the message, the countdown card, a new report's card, and what
each of Telegram's refusals means for the push and its chat."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.config import Settings
from bot.i18n import Translator
from bot.push.delivery import NotSent, chat_key, fail, language_of, record_sent, retry
from bot.push.pacing import SenderState, Slot, seconds_of
from bot.views.cards import CAPTION_LIMIT, report_card, telegram_photo
from bot.views.labels import shorten
from bot.views.pictures.countdown_card import countdown_png
from bot.views.push_view import push_buttons, telegram_text
from storage.accounts import Account
from storage.dangers import danger_card
from storage.db import Sessions
from storage.push_payloads import (
    CountdownPush,
    ReportCardPush,
    payload_json,
    payload_of,
)
from storage.pushes import OutboxItem, deactivate_chat, mark_failed, mark_retry, retarget

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Attempt:
    """One push to one Telegram chat, as its refusal handlers need it."""

    sessions: Sessions
    state: SenderState
    item: OutboxItem
    chat_id: int


async def deliver_telegram(
    bot: Bot,
    sessions: Sessions,
    settings: Settings,
    state: SenderState,
    item: OutboxItem,
    slot: Slot,
) -> int:
    """Send one push to its Telegram chat; return 1 if it went out, 0 if not (yet)."""
    attempt = _Attempt(sessions, state, item, int(item.target))
    try:
        messages = await _send_telegram(bot, sessions, settings, state, attempt.chat_id, item)
    except Exception as err:
        await _refused(attempt, err)
        return 0
    return await record_sent(sessions, item, slot, messages)


async def _not_sent(attempt: _Attempt, err: Exception) -> None:
    await fail(attempt.sessions, attempt.item, str(err))


async def _rate_limited(attempt: _Attempt, err: Exception) -> None:
    assert isinstance(err, RetryAfter)
    seconds = seconds_of(err.retry_after)
    attempt.state.pacer.pause(seconds, chat_key(attempt.item))
    delay = timedelta(seconds=seconds)
    async with attempt.sessions() as session:
        await mark_retry(
            session, item_id=attempt.item.id, error=str(err), delay=delay, give_up=False
        )


async def _migrated(attempt: _Attempt, err: Exception) -> None:
    assert isinstance(err, ChatMigrated)
    async with attempt.sessions() as session:
        await retarget(
            session,
            item_id=attempt.item.id,
            old_chat_id=attempt.chat_id,
            new_chat_id=err.new_chat_id,
        )


async def _forbidden(attempt: _Attempt, err: Exception) -> None:
    logger.warning("bot can no longer write to %s: %s", attempt.chat_id, err)
    async with attempt.sessions() as session:
        await mark_failed(session, item_id=attempt.item.id, error=str(err))
        await deactivate_chat(session, chat_id=attempt.chat_id, error=str(err))


async def _bad_request(attempt: _Attempt, err: Exception) -> None:
    logger.warning("push %s refused: %s", attempt.item.key, err)
    async with attempt.sessions() as session:
        await mark_failed(session, item_id=attempt.item.id, error=str(err))
        if "chat not found" in str(err).lower():
            await deactivate_chat(session, chat_id=attempt.chat_id, error=str(err))


async def _network(attempt: _Attempt, err: Exception) -> None:
    # Includes TimedOut; a 5xx arrives as NetworkError too.
    await retry(attempt.sessions, attempt.item, repr(err), give_up=False)


async def _unexpected(attempt: _Attempt, err: Exception) -> None:
    # Anything else (a deleted row, a bug): count the attempt instead of leaving the row
    # claimed, so it is retried with backoff and finally marked failed.
    logger.error("push %s failed", attempt.item.key, exc_info=err)
    await retry(attempt.sessions, attempt.item, repr(err))


# What each refusal means, first match wins: the order matters, as BadRequest and TimedOut
# are NetworkErrors, and everything is an Exception.
_REFUSALS: tuple[tuple[type[Exception], Callable[[_Attempt, Exception], Awaitable[None]]], ...] = (
    (NotSent, _not_sent),
    (RetryAfter, _rate_limited),
    (ChatMigrated, _migrated),
    (Forbidden, _forbidden),
    (BadRequest, _bad_request),
    (NetworkError, _network),
    (Exception, _unexpected),
)


async def _refused(attempt: _Attempt, err: Exception) -> None:
    for kind, outcome in _REFUSALS:
        if isinstance(err, kind):
            await outcome(attempt, err)
            return


async def _send_telegram(
    bot: Bot,
    sessions: Sessions,
    settings: Settings,
    state: SenderState,
    chat_id: int,
    item: OutboxItem,
) -> int:
    """Send one push; return how many Telegram messages it took."""
    payload = payload_of(item)
    if isinstance(payload, ReportCardPush):
        return await _send_report_card(bot, sessions, settings, chat_id, payload.danger_id)
    # Private pushes speak the person's chosen language; groups the deployment's.
    language = settings.language
    if chat_id > 0:
        language = await language_of(sessions, settings, Account.telegram(chat_id))
    _ = Translator(language)
    text = telegram_text(_, payload)
    if isinstance(payload, CountdownPush):
        return await send_countdown(bot, chat_id, _, payload, text, state.card_ids)
    rows = push_buttons(_, payload)
    keyboard = None
    if rows:
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(b.label, callback_data=b.action) for b in row] for row in rows]
        )
    await bot.send_message(chat_id, text, reply_markup=keyboard)
    return 1


async def send_countdown(
    bot: Bot,
    chat_id: int,
    _: Translator,
    data: CountdownPush,
    text: str,
    card_ids: dict[str, str] | None = None,
) -> int:
    """The countdown card as a picture, the figures as its caption.

    A fan-out sends one card to many groups: it is drawn and uploaded once, then sent by the
    file id Telegram gave it (`card_ids`).
    """
    key = _.language + json.dumps(payload_json(data), sort_keys=True)
    picture: str | bytes | None = card_ids.get(key) if card_ids is not None else None
    if picture is None:
        picture = await asyncio.to_thread(_card, _.language, data)
    try:
        sent = await bot.send_photo(chat_id, picture, caption=shorten(text, CAPTION_LIMIT))
        if card_ids is not None and sent.photo:
            if len(card_ids) > 500:
                card_ids.clear()
            card_ids[key] = sent.photo[-1].file_id
    except BadRequest as err:
        if "chat not found" in str(err).lower():
            raise
        # A group where the bot may not post photos still gets the countdown, as text.
        logger.warning("countdown card refused in %s (%s); sending text", chat_id, err)
        await bot.send_message(chat_id, text)
    return 1


@lru_cache(maxsize=64)
def _card(language: str, data: CountdownPush) -> bytes:
    # A fan-out sends the same card to many groups of a unit: draw it once.
    return countdown_png(Translator(language), data)


async def _send_report_card(
    bot: Bot, sessions: Sessions, settings: Settings, chat_id: int, danger_id: int
) -> int:
    async with sessions() as session:
        card = await danger_card(session, danger_id)
    caption = report_card(Translator(settings.language), card)
    photos = [await telegram_photo(ref, settings.photo_dir) for ref in card.before_photos[:10]]
    try:
        if len(photos) >= 2:
            media = [
                InputMediaPhoto(photo, caption=caption if i == 0 else None)
                for i, photo in enumerate(photos)
            ]
            await bot.send_media_group(chat_id, media)
            return len(media)
        if photos:
            await bot.send_photo(chat_id, photos[0], caption=caption)
            return 1
    except BadRequest as err:
        if "chat not found" in str(err).lower():
            raise
        # A photo Telegram will not take must not cost the group the report itself.
        logger.warning("photos of %s refused (%s); sending the card as text", danger_id, err)
    await bot.send_message(chat_id, caption)
    return 1
