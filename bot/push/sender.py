"""The outbox sender: drains queued pushes to Telegram and WeCom, once each, within the limits.

Pushes are paced here, below Telegram's own limits (about 30 messages a second per bot, 20 a
minute per group) and WeCom's (20 a minute per robot, 30 a minute per person through the
application), one at a time: a fan-out to thousands of groups never fills the rate limiter's
queue, so answers to people keep flowing beside it. A group (or person on WeCom) that has had
its share this minute is deferred, not waited for.

Three channels: Telegram chats, WeCom group robots (markdown to a webhook key) and the WeCom
application (plain text to one person's WeCom user id, for people without Telegram).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import lru_cache

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.config import Settings
from bot.context import BotContext, HdApplication
from bot.i18n import Translator
from bot.push.pacing import SenderState, Slot, seconds_of
from bot.views.cards import CAPTION_LIMIT, report_card, telegram_photo
from bot.views.labels import shorten
from bot.views.pictures.countdown_card import countdown_png
from bot.views.push_view import telegram_text, wecom_markdown, wecom_report_markdown
from bot.wecom.api import WeComBusy, WeComClient, WeComError
from bot.wecom.outgoing import TextMessage, text_pieces
from storage.accounts import Account
from storage.clock import utcnow
from storage.dangers import danger_card
from storage.db import Sessions, reading
from storage.models import Channel
from storage.people import who_is
from storage.push_payloads import (
    CountdownPush,
    NoticePush,
    ReminderPush,
    ReportCardPush,
    payload_json,
    payload_of,
)
from storage.pushes import (
    OutboxItem,
    claim_due,
    deactivate_chat,
    deactivate_target,
    defer,
    mark_failed,
    mark_retry,
    mark_sent,
    release_claims_of_the_dead,
    retarget,
    sender_lease,
    wecom_target,
)

logger = logging.getLogger(__name__)

SENDER_JOB = "outbox-sender"
DRAIN_INTERVAL = 2.0
# host:pid:start — the start tells this process from an earlier one that had the same pid
# (in a container the bot is often pid 1 every time).
WORKER = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def is_dead(claimant: str) -> bool:
    """Whether the sender named `claimant` is gone: a process of this host that no longer
    runs, or an earlier start of this very pid. Another host's sender cannot be asked."""
    host, _, rest = claimant.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return claimant != WORKER
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, someone else's (EPERM)
        return False
    return False


# WeCom answers 200 with an errcode; these mean "slow down" and "this key is dead".
WECOM_RATE_LIMITED = {45009, 45033}
WECOM_DEAD_KEY = {93000, 93004, 40013}
WECOM_BUSY_DELAY = 60.0
# The application's "no such person" answers: invalid user id list, user not found, every
# recipient invalid or outside the application's visible range.
WECOM_UNKNOWN_USER = {40031, 60111, 81013}


class NotSent(Exception):
    """A push that must not go out (its person was deactivated since it was queued)."""


def start_sender(application: HdApplication) -> None:
    """Drain the outbox every few seconds for as long as the bot runs."""
    if application.job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    application.job_queue.run_repeating(
        _drain_job,
        interval=DRAIN_INTERVAL,
        first=1.0,
        name=SENDER_JOB,
        job_kwargs={"max_instances": 4, "coalesce": True},
    )


def wake_sender(context: BotContext) -> None:
    """Drain now rather than at the next tick (a reporter's card should not wait)."""
    context.jobs.run_once(_drain_job, 0.05)


async def _drain_job(context: BotContext) -> None:
    application = context.application
    state = context.bot_data.sender
    await drain_as_sender(
        state.bot or context.bot,
        context.background,
        context.settings,
        state,
        stop=lambda: not application.running,
    )


async def drain_as_sender(
    bot: Bot | None,
    sessions: Sessions,
    settings: Settings,
    state: SenderState,
    *,
    stop: Callable[[], bool],
) -> None:
    """Drain the outbox if this process is the sender now: one drain at a time in a process,
    one process at a time on a shared database (every front's process wakes it this way)."""
    if state.lock.locked():
        return  # a drain is running; it picks up whatever was queued meanwhile
    async with state.lock, sender_lease(sessions) as elected:
        if not elected:
            return  # another bot process is draining; it paces for all of us
        await drain(bot, sessions, settings, state, stop=stop)


def channels_for(bot: Bot | None, settings: Settings) -> frozenset[Channel] | None:
    """The channels a sender with this bot and these settings delivers (None: every one).

    Without a Telegram bot (WeCom alone) Telegram's rows are left queued for a process that
    has one; WeCom application rows are claimed only where the application is configured.
    """
    if bot is not None:
        return None
    if settings.wecom_app_configured:
        return frozenset({Channel.WECOM, Channel.WECOM_APP})
    return frozenset({Channel.WECOM})


async def drain(
    bot: Bot | None,
    sessions: Sessions,
    settings: Settings,
    state: SenderState | None = None,
    *,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Send every due push this worker can claim; return how many went out.

    `bot` None: no Telegram here; only the WeCom channels are claimed (`channels_for`).
    `stop` is asked before each push: a bot shutting down leaves the rest queued for its
    next start instead of sending a whole fan-out first.
    """
    state = state or SenderState()
    own_client = state.http is None
    if own_client:
        state.http = httpx.AsyncClient(timeout=15.0)
    own_wecom = state.wecom is None and settings.wecom_app_configured
    if own_wecom:
        state.wecom = WeComClient.from_settings(settings)
    channels = channels_for(bot, settings)
    sent = 0
    try:
        async with sessions() as session:
            released = await release_claims_of_the_dead(session, worker=WORKER, is_dead=is_dead)
        if released:
            logger.info("re-queued %d pushes claimed by a sender that is gone", released)
        while True:
            # One row at a time: a crash leaves at most the one push in flight unconfirmed,
            # instead of a batch claimed and waiting for the claim to time out.
            if stop is not None and stop():
                return sent
            async with sessions() as session:
                items = await claim_due(session, worker=WORKER, limit=1, channels=channels)
            if not items:
                return sent
            for item in items:
                sent += await _deliver(bot, sessions, settings, state, item)
    finally:
        if own_client and state.http is not None:
            await state.http.aclose()
            state.http = None
        if own_wecom and state.wecom is not None:
            await state.wecom.close()
            state.wecom = None


def _chat_key(item: OutboxItem) -> str | None:
    """The chat whose per-minute limit a push counts against (groups, robots, and people on
    the WeCom application, which WeCom limits per person)."""
    if item.channel == Channel.WECOM:
        return f"wecom:{item.target}"
    if item.channel == Channel.WECOM_APP:
        return f"wecom_app:{item.target}"
    return item.target if item.target.startswith("-") else None


async def _deliver(
    bot: Bot | None, sessions: Sessions, settings: Settings, state: SenderState, item: OutboxItem
) -> int:
    chat = _chat_key(item)
    wait = state.pacer.chat_delay(chat)
    if wait > 0:
        async with sessions() as session:
            await defer(session, item_id=item.id, until=utcnow() + timedelta(seconds=wait))
        return 0
    async with state.pacer.push_slot() as slot:
        return await _deliver_on(bot, sessions, settings, state, item, slot)


async def _deliver_on(
    bot: Bot | None,
    sessions: Sessions,
    settings: Settings,
    state: SenderState,
    item: OutboxItem,
    slot: Slot,
) -> int:
    chat = _chat_key(item)
    if item.channel == Channel.WECOM:
        return await _deliver_wecom(sessions, settings, state, item, slot)
    if item.channel == Channel.WECOM_APP:
        return await _deliver_wecom_app(sessions, settings, state, item, slot)
    if item.channel != Channel.TELEGRAM or not item.target.lstrip("-").isdigit():
        async with sessions() as session:
            await mark_failed(session, item_id=item.id, error=f"no sender for {item.channel}")
        return 0
    if bot is None:
        # claim_due left Telegram's rows out (channels_for): reaching here is a bug.
        raise RuntimeError(f"push {item.key} claimed without a Telegram bot")
    chat_id = int(item.target)
    try:
        messages = await _send_telegram(bot, sessions, settings, state, chat_id, item)
    except NotSent as err:
        async with sessions() as session:
            await mark_failed(session, item_id=item.id, error=str(err))
        return 0
    except RetryAfter as err:
        seconds = seconds_of(err.retry_after)
        state.pacer.pause(seconds, chat)
        delay = timedelta(seconds=seconds)
        async with sessions() as session:
            await mark_retry(session, item_id=item.id, error=str(err), delay=delay, give_up=False)
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
            await deactivate_chat(session, chat_id=chat_id, error=str(err))
        return 0
    except BadRequest as err:
        logger.warning("push %s refused: %s", item.key, err)
        async with sessions() as session:
            await mark_failed(session, item_id=item.id, error=str(err))
            if "chat not found" in str(err).lower():
                await deactivate_chat(session, chat_id=chat_id, error=str(err))
        return 0
    except NetworkError as err:  # includes TimedOut; a 5xx arrives as NetworkError too
        await _retry(sessions, item, repr(err), give_up=False)
        return 0
    except Exception as err:
        # Anything else (a deleted row, a bug): count the attempt instead of leaving the row
        # claimed, so it is retried with backoff and finally marked failed.
        logger.exception("push %s failed", item.key)
        await _retry(sessions, item, repr(err))
        return 0
    slot.sent(chat, messages)
    async with sessions() as session:
        await mark_sent(session, item_id=item.id)
    return 1


async def _retry(sessions: Sessions, item: OutboxItem, error: str, *, give_up: bool = True) -> None:
    """Back off 2, 4, 8 … seconds, at most five minutes."""
    delay = timedelta(seconds=min(300, 2 ** min(item.attempts + 1, 9)))
    async with sessions() as session:
        await mark_retry(session, item_id=item.id, error=error, delay=delay, give_up=give_up)


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
        language = await _language_of(sessions, settings, Account.telegram(chat_id))
    _ = Translator(language)
    text = telegram_text(_, payload)
    if isinstance(payload, CountdownPush):
        return await send_countdown(bot, chat_id, _, payload, text, state.card_ids)
    keyboard = None
    danger_id = payload.danger_id if isinstance(payload, NoticePush | ReminderPush) else None
    if danger_id:
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(_("Open"), callback_data=f"d:{danger_id}:open")]]
        )
    await bot.send_message(chat_id, text, reply_markup=keyboard)
    return 1


async def _language_of(sessions: Sessions, settings: Settings, account: Account) -> str:
    """The language of a push to one person: theirs, else the deployment's.

    Raises NotSent for a person deactivated since the push was queued.
    """
    async with reading(sessions)() as session:
        visitor = await who_is(session, account)
    if visitor.user is not None and not visitor.user.active:
        raise NotSent("the person was deactivated: notices go to active people only")
    return visitor.language or settings.language


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


async def _deliver_wecom(
    sessions: Sessions, settings: Settings, state: SenderState, item: OutboxItem, slot: Slot
) -> int:
    """POST the push to a WeCom group robot as markdown."""
    async with sessions() as session:
        target = await wecom_target(session, int(item.target)) if item.target.isdigit() else None
    if target is None:
        async with sessions() as session:
            await mark_failed(session, item_id=item.id, error="WeCom target is switched off")
        return 0
    payload = payload_of(item)
    _ = Translator(settings.language)
    if isinstance(payload, ReportCardPush):
        async with sessions() as session:
            card = await danger_card(session, payload.danger_id)
        content = wecom_report_markdown(_, card)
    else:
        content = wecom_markdown(_, payload)
    url = f"{settings.wecom_base_url.rstrip('/')}/cgi-bin/webhook/send"
    assert state.http is not None
    try:
        response = await state.http.post(
            url,
            params={"key": target.key},
            json={"msgtype": "markdown", "markdown": {"content": content}},
        )
        response.raise_for_status()
        answer = response.json()
    except (httpx.HTTPError, ValueError) as err:
        # Never the error's text: httpx names the URL, and the URL holds the robot's secret key.
        detail = (
            f"HTTP {err.response.status_code}"
            if isinstance(err, httpx.HTTPStatusError)
            else type(err).__name__
        )
        await _retry(sessions, item, f"WeCom: {detail}", give_up=False)
        return 0
    code = int(answer.get("errcode", -1)) if isinstance(answer, dict) else -1
    message = str(answer.get("errmsg", "")) if isinstance(answer, dict) else str(answer)
    if code == 0:
        slot.sent(_chat_key(item))
        async with sessions() as session:
            await mark_sent(session, item_id=item.id)
        return 1
    error = f"WeCom errcode {code}: {message}"

    async def switch_off(session: AsyncSession) -> None:
        await deactivate_target(session, target_id=target.id, error=error)

    await _refused_by_wecom(
        sessions,
        item,
        error,
        busy_for=WECOM_BUSY_DELAY if code in WECOM_RATE_LIMITED else None,
        dead=code in WECOM_DEAD_KEY,
        on_dead=switch_off,
    )
    return 0


async def _deliver_wecom_app(
    sessions: Sessions, settings: Settings, state: SenderState, item: OutboxItem, slot: Slot
) -> int:
    """Send the push to one person through the WeCom application, as plain text."""
    if state.wecom is None:
        # Without a configured application nobody will ever deliver it.
        async with sessions() as session:
            await mark_failed(session, item_id=item.id, error="no WeCom application configured")
        return 0
    try:
        texts = await _wecom_app_texts(sessions, settings, item)
        # A text over WeCom's 2,048 bytes goes in parts; a retry after a busy answer in the
        # middle sends the parts before it again, which beats sending a push cut short.
        for text in texts:
            answer = await state.wecom.send(item.target, TextMessage(text))
            if item.target in answer.invalid_users:
                raise WeComError(60111, "WeCom does not know this user id")
    except NotSent as err:
        async with sessions() as session:
            await mark_failed(session, item_id=item.id, error=str(err))
        return 0
    except WeComBusy as err:
        await _refused_by_wecom(sessions, item, str(err), busy_for=err.retry_after, dead=False)
        return 0
    except WeComError as err:
        logger.warning("push %s refused by WeCom: %s", item.key, err)
        dead = err.errcode in WECOM_UNKNOWN_USER
        await _refused_by_wecom(sessions, item, str(err), busy_for=None, dead=dead)
        return 0
    except Exception as err:
        logger.exception("push %s failed", item.key)
        await _retry(sessions, item, repr(err))
        return 0
    slot.sent(_chat_key(item), len(texts))
    async with sessions() as session:
        await mark_sent(session, item_id=item.id)
    return 1


async def _wecom_app_texts(sessions: Sessions, settings: Settings, item: OutboxItem) -> list[str]:
    """The push worded for its person, in messages within WeCom's text limit."""
    _ = Translator(await _language_of(sessions, settings, Account.wecom(item.target)))
    payload = payload_of(item)
    if isinstance(payload, ReportCardPush):
        async with sessions() as session:
            card = await danger_card(session, payload.danger_id)
        return text_pieces(report_card(_, card))
    return text_pieces(telegram_text(_, payload))


async def _refused_by_wecom(
    sessions: Sessions,
    item: OutboxItem,
    error: str,
    *,
    busy_for: float | None,
    dead: bool,
    on_dead: Callable[[AsyncSession], Awaitable[None]] | None = None,
) -> None:
    """What WeCom's refusal of a push means, for its robots and its application alike.

    Busy: wait `busy_for` seconds without spending an attempt. A dead address (a robot's key,
    a person WeCom does not know): failed for good, and `on_dead` switches it off. Anything
    else: retried with backoff, and given up after the last attempt.
    """
    if busy_for is not None:
        async with sessions() as session:
            until = utcnow() + timedelta(seconds=busy_for)
            await defer(session, item_id=item.id, until=until, note=error)
    elif dead:
        async with sessions() as session:
            await mark_failed(session, item_id=item.id, error=error)
            if on_dead is not None:
                await on_dead(session)
    else:
        await _retry(sessions, item, error)
