"""Updates kept in the inbox (storage/inbox.py) between their arrival and their handling.

`DurableQueue` is python-telegram-bot's update queue with one change: an update is written to
the inbox before `put` returns. Both the poller (whose next getUpdates confirms the batch to
Telegram) and the webhook server (which answers Telegram when `put` returns) wait for that
write, so Telegram never hears "received" for an update the database does not hold. The update
processor reports each handled update, which is then forgotten. At start,
what is left over is queued again before new updates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from telegram import Update

from storage import inbox
from storage.clock import utcnow
from storage.db import Sessions

logger = logging.getLogger(__name__)


class DurableQueue(asyncio.Queue[Any]):
    """An update queue that keeps each update in the database before taking it."""

    def __init__(self, admit: Callable[[object], bool] | None = None) -> None:
        super().__init__()
        self.sessions: Sessions | None = None  # set when the application is built
        # Asked first: an update it refuses (a flood) is dropped here, neither kept nor queued.
        self.admit = admit
        self._forgetting: set[asyncio.Task[None]] = set()

    async def put(self, item: Any) -> None:
        if self.admit is not None and not self.admit(item):
            return
        if isinstance(item, Update) and self.sessions is not None:
            async with self.sessions() as session:
                await inbox.keep(
                    session, update_id=item.update_id, payload=item.to_dict(), now=utcnow()
                )
        await super().put(item)

    def handled(self, update: object) -> None:
        """The update processor is done with this update (handled, refused or failed): forget
        it now, beside the next updates (a crash in between only means one more replay)."""
        if isinstance(update, Update) and self.sessions is not None:
            task = asyncio.get_running_loop().create_task(self._forget(update.update_id))
            self._forgetting.add(task)
            task.add_done_callback(self._forgetting.discard)

    async def _forget(self, update_id: int) -> None:
        assert self.sessions is not None
        try:
            async with self.sessions() as session:
                await inbox.forget(session, [update_id])
        except Exception:  # the next start handles it once more: harmless, so only say so
            logger.warning("could not forget handled update %d", update_id, exc_info=True)


async def replay_left_over(queue: DurableQueue, sessions: Sessions, bot: Any) -> int:
    """Queue again what a stopped bot had received and not handled; return how many."""
    async with sessions() as session:
        payloads = await inbox.left_over(session, now=utcnow())
    for payload in payloads:
        update = Update.de_json(payload, bot)
        # Straight into the queue: it is in the inbox already.
        await asyncio.Queue.put(queue, update)
    if payloads:
        logger.info("handling again %d updates received before the last stop", len(payloads))
    return len(payloads)
