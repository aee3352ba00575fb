"""The outbox sender: drains queued pushes to Telegram, once each, retrying what can be retried."""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.cards import report_card, telegram_photo
from bot.config import Settings
from bot.context import BotContext, HdApplication
from bot.i18n import Translator
from storage.dangers import danger_card
from storage.db import Sessions
from storage.models import Channel
from storage.outbox import (
    OutboxItem,
    claim_due,
    deactivate_chat,
    mark_failed,
    mark_retry,
    mark_sent,
    retarget,
)
from storage.people import chosen_language

logger = logging.getLogger(__name__)

SENDER_JOB = "outbox-sender"
DRAIN_INTERVAL = 2.0
WORKER = f"{socket.gethostname()}:{os.getpid()}"


def start_sender(application: HdApplication) -> None:
    """Drain the outbox every few seconds for as long as the bot runs."""
    if application.job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    application.job_queue.run_repeating(
        _drain_job, interval=DRAIN_INTERVAL, first=1.0, name=SENDER_JOB
    )


def wake_sender(context: BotContext) -> None:
    """Drain now rather than at the next tick (a reporter's card should not wait)."""
    context.jobs.run_once(_drain_job, 0.05)


async def _drain_job(context: BotContext) -> None:
    await drain(context.bot, context.sessions, context.settings)


async def drain(bot: Bot, sessions: Sessions, settings: Settings) -> int:
    """Send every due push this worker can claim; return how many went out."""
    sent = 0
    while True:
        async with sessions() as session:
            items = await claim_due(session, worker=WORKER)
        if not items:
            return sent
        for item in items:
            sent += await _deliver(bot, sessions, settings, item)


async def _deliver(bot: Bot, sessions: Sessions, settings: Settings, item: OutboxItem) -> int:
    if item.channel != Channel.TELEGRAM or not item.target.lstrip("-").isdigit():
        async with sessions() as session:
            await mark_failed(session, item_id=item.id, error=f"no sender for {item.channel}")
        return 0
    chat_id = int(item.target)
    try:
        if item.kind == "report_card":
            await _send_report_card(
                bot, sessions, settings, chat_id, int(item.payload["danger_id"])
            )
        elif item.kind == "notice":
            await _send_notice(bot, sessions, settings, chat_id, item.payload)
        else:
            async with sessions() as session:
                await mark_failed(session, item_id=item.id, error=f"unknown kind {item.kind}")
            return 0
    except RetryAfter as err:
        delay = (
            err.retry_after
            if isinstance(err.retry_after, timedelta)
            else timedelta(seconds=float(err.retry_after))
        )
        async with sessions() as session:
            await mark_retry(session, item_id=item.id, error=str(err), delay=delay)
        return 0
    except ChatMigrated as err:
        async with sessions() as session:
            await retarget(
                session, item_id=item.id, old_chat_id=chat_id, new_chat_id=err.new_chat_id
            )
        return 0
    except Forbidden as err:
        logger.warning("bot can no longer write to %s: %s", chat_id, err)
        async with sessions() as session:
            await mark_failed(session, item_id=item.id, error=str(err))
            await deactivate_chat(session, chat_id=chat_id)
        return 0
    except BadRequest as err:
        logger.warning("push %s refused: %s", item.key, err)
        async with sessions() as session:
            await mark_failed(session, item_id=item.id, error=str(err))
            if "chat not found" in str(err).lower():
                await deactivate_chat(session, chat_id=chat_id)
        return 0
    except NetworkError as err:  # includes TimedOut; a 5xx arrives as NetworkError too
        delay = timedelta(seconds=min(300, 2 ** (item.attempts + 1)))
        async with sessions() as session:
            await mark_retry(session, item_id=item.id, error=str(err), delay=delay)
        return 0
    except Exception as err:
        # Anything else (a deleted row, a bug): count the attempt instead of leaving the row
        # claimed, so it is retried with backoff and finally marked failed.
        logger.exception("push %s failed", item.key)
        delay = timedelta(seconds=min(300, 2 ** (item.attempts + 1)))
        async with sessions() as session:
            await mark_retry(session, item_id=item.id, error=repr(err), delay=delay)
        return 0
    async with sessions() as session:
        await mark_sent(session, item_id=item.id)
    return 1


async def _send_notice(
    bot: Bot, sessions: Sessions, settings: Settings, chat_id: int, payload: dict[str, Any]
) -> None:
    """A private notice about a hidden danger, in the recipient's language, with a way to it."""
    async with sessions() as session:
        chosen = await chosen_language(session, chat_id)
    _ = Translator(chosen or settings.language)
    text = _(str(payload["key"]), **dict(payload.get("params") or {}))
    keyboard = None
    if payload.get("danger_id"):
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(_("Open"), callback_data=f"d:{int(payload['danger_id'])}:open")]]
        )
    await bot.send_message(chat_id, text, reply_markup=keyboard)


async def _send_report_card(
    bot: Bot, sessions: Sessions, settings: Settings, chat_id: int, danger_id: int
) -> None:
    async with sessions() as session:
        card = await danger_card(session, danger_id)
    # Groups read the deployment's language: their members may each use another.
    caption = report_card(Translator(settings.language), card)
    photos = [await telegram_photo(ref, settings.photo_dir) for ref in card.before_photos[:10]]
    try:
        if len(photos) >= 2:
            media = [
                InputMediaPhoto(photo, caption=caption if i == 0 else None)
                for i, photo in enumerate(photos)
            ]
            await bot.send_media_group(chat_id, media)
            return
        if photos:
            await bot.send_photo(chat_id, photos[0], caption=caption)
            return
    except BadRequest as err:
        if "chat not found" in str(err).lower():
            raise
        # A photo Telegram will not take must not cost the group the report itself.
        logger.warning("photos of %s refused (%s); sending the card as text", danger_id, err)
    await bot.send_message(chat_id, caption)
