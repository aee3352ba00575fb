"""Updates kept in the inbox (storage/inbox.py) between their arrival and their handling.

`DurableQueue` is python-telegram-bot's update queue with one change: Telegram never hears
"received" for an update the database does not hold. The webhook server answers Telegram when
`put` returns, so there `put` writes first; the poller confirms a batch with its next
getUpdates, so there the batch is written just before that request, in one transaction. The
update processor reports each handled update, and those are forgotten together. At start,
what is left over is queued again before new updates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from telegram import Update

from bot.intake.updates import order_of
from storage import inbox
from storage.clock import utcnow
from storage.db import Sessions

logger = logging.getLogger(__name__)

# Handled updates are forgotten at once, in one transaction with all those handled while the
# previous one was written: as soon as may be (a kill before it means a replay), in batches.
FORGET_AFTER = 0.0


class DurableQueue(asyncio.Queue[Any]):
    """An update queue that keeps each update in the database before Telegram hears of it.

    With a webhook, `put` writes the update before it returns (Telegram's request is answered
    after). With long polling, Telegram learns of a batch at the next getUpdates: the updates
    are written together just before it (`flush`, which the getUpdates request awaits), in
    one transaction with the forgetting of those handled meanwhile. An update handled before
    its batch was written is never written at all.
    """

    def __init__(self, admit: Callable[[object], bool] | None = None) -> None:
        super().__init__()
        self.sessions: Sessions | None = None  # set when the application is built
        # Asked first: an update it refuses (a flood) is dropped here, neither kept nor queued.
        self.admit = admit
        # True once getUpdates has flushed: from then on writes wait for the next one.
        self.polling = False
        # This process's mark (storage/turns.py), stamped on what it keeps.
        self.receiver = 0
        self._received: dict[int, dict[str, Any]] = {}  # not written yet
        self._orders: dict[int, inbox.Order] = {}  # whose order each belongs to
        self._handled: set[int] = set()  # written, to forget
        self._writing = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    async def put(self, item: Any) -> None:
        if self.admit is not None and not self.admit(item):
            return
        if isinstance(item, Update) and self.sessions is not None:
            self._received[item.update_id] = item.to_dict()
            self._orders[item.update_id] = order_of(item)
            if not self.polling:
                await self.flush()
        await super().put(item)

    async def before_get_updates(self) -> None:
        """Awaited by the getUpdates request: what came with the last one is written first
        (a failure fails the request, so Telegram sends the batch again)."""
        self.polling = True
        await self.flush()

    def handled(self, update: object) -> None:
        """The update processor is done with this update (handled, refused or failed)."""
        if not isinstance(update, Update) or self.sessions is None:
            return
        # Not written yet: it never will be. (It may still be there from before a restart, as
        # when Telegram sent it again: so it is forgotten all the same.)
        self._received.pop(update.update_id, None)
        self._orders.pop(update.update_id, None)
        self._handled.add(update.update_id)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FORGET_AFTER, self._flush_soon)

    def _flush_soon(self) -> None:
        self._timer = None
        task = asyncio.get_running_loop().create_task(self._flush_quietly())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush_quietly(self) -> None:
        try:
            await self.flush()
        except Exception:  # the next flush tries again; at worst a start replays one more
            logger.warning("could not write the inbox", exc_info=True)

    async def flush(self) -> None:
        """Write the updates received and forget those handled, in one transaction."""
        if self.sessions is None:
            return
        async with self._writing:
            keep, self._received = self._received, {}
            orders = {
                update_id: self._orders.pop(update_id, inbox.Order(None, None))
                for update_id in keep
            }
            forget, self._handled = self._handled, set()
            if not keep and not forget:
                return
            try:
                async with self.sessions() as session:
                    await inbox.write(
                        session,
                        keep=keep,
                        forget=forget,
                        now=utcnow(),
                        receiver=self.receiver,
                        orders=orders,
                    )
            except BaseException:
                # Nothing was written: all of it waits for the next flush (an update handled
                # meanwhile is simply written and then forgotten).
                self._received = {**keep, **self._received}
                self._orders.update(orders)
                self._handled |= forget
                raise


async def adopt_left_over(queue: DurableQueue, sessions: Sessions, bot: Any) -> int:
    """Queue what processes that are gone (an earlier start of this one, or another process
    on the same PostgreSQL) had received and not handled; return how many."""
    async with sessions() as session:
        payloads = await inbox.adopt_left_over(session, receiver=queue.receiver, now=utcnow())
    for payload in payloads:
        update = Update.de_json(payload, bot)
        # Straight into the queue: it is in the inbox already, now under this process's mark.
        await asyncio.Queue.put(queue, update)
    if payloads:
        logger.info("handling %d updates a stopped process had received", len(payloads))
    return len(payloads)
