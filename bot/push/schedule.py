"""The push clock: every minute, queue what is due (storage decides), then wake the sender.

Nothing about schedules lives in the job queue, which forgets everything on restart: the
subscriptions and their times are in the database, and each tick reads them afresh.
"""

from __future__ import annotations

import logging

from bot.config import Settings
from bot.context import BotContext, HdApplication
from bot.push.sender import wake_sender
from storage.db import Sessions
from storage.errors import DomainError
from storage.pushes import enqueue_due

logger = logging.getLogger(__name__)

TICK_SECONDS = 60
TICK_JOB = "push-clock"


def start_schedule(application: HdApplication) -> None:
    """Tick every minute, the first tick soon after start (to catch up what was missed)."""
    if application.job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    application.job_queue.run_repeating(
        _tick, interval=TICK_SECONDS, first=5, name=TICK_JOB, job_kwargs={"coalesce": True}
    )


async def _tick(context: BotContext) -> None:
    if await queue_due_pushes(context.background, context.settings):
        wake_sender(context)


async def queue_due_pushes(sessions: Sessions, settings: Settings) -> int:
    """One tick of the push clock: queue what is due now; return how many were queued.

    Every front's process ticks through here (the Telegram job queue, and the WeCom-alone
    runner), so what is due is decided once whatever runs the clock.
    """
    try:
        async with sessions() as session:
            queued = await enqueue_due(session, rules=settings.push_rules)
    except DomainError as err:  # no campaign yet: nothing to push
        logger.debug("no pushes: %s", err)
        return 0
    if queued.total:
        logger.info("queued %d pushes: %s", queued.total, queued.counts)
    return queued.total
