"""The outbox sender: drains queued pushes to Telegram and WeCom, once each, within the limits.

Pushes are paced here, below Telegram's own limits (about 30 messages a second per bot, 20 a
minute per group) and WeCom's (20 a minute per robot, 30 a minute per person through the
application), one at a time: a fan-out to thousands of groups never fills the rate limiter's
queue, so answers to people keep flowing beside it. A group (or person on WeCom) that has had
its share this minute is deferred, not waited for.

Three channels: Telegram chats (bot/push/telegram_delivery.py), WeCom group robots (markdown
to a webhook key) and the WeCom application (plain text to one person's WeCom user id, for
people without Telegram), both in bot/push/wecom_delivery.py. This module is the loop that
claims each due push and hands it to its channel.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import timedelta

import httpx
from telegram import Bot

from bot.config import Settings
from bot.context import BotContext, HdApplication
from bot.push.delivery import chat_key, fail
from bot.push.pacing import SenderState, Slot
from bot.push.telegram_delivery import deliver_telegram
from bot.push.wecom_delivery import deliver_wecom_app, deliver_wecom_robot
from bot.wecom.api import WeComClient
from storage.clock import utcnow
from storage.db import Sessions
from storage.models import Channel
from storage.pushes import (
    OutboxItem,
    claim_due,
    defer,
    release_claims_of_the_dead,
    sender_lease,
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


async def _deliver(
    bot: Bot | None, sessions: Sessions, settings: Settings, state: SenderState, item: OutboxItem
) -> int:
    chat = chat_key(item)
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
    if item.channel == Channel.WECOM:
        return await deliver_wecom_robot(sessions, settings, state, item, slot)
    if item.channel == Channel.WECOM_APP:
        return await deliver_wecom_app(sessions, settings, state, item, slot)
    if item.channel != Channel.TELEGRAM or not item.target.lstrip("-").isdigit():
        await fail(sessions, item, f"no sender for {item.channel}")
        return 0
    if bot is None:
        # claim_due left Telegram's rows out (channels_for): reaching here is a bug.
        raise RuntimeError(f"push {item.key} claimed without a Telegram bot")
    return await deliver_telegram(bot, sessions, settings, state, item, slot)
