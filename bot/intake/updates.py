"""Updates of different people run at once; each person's and each chat's stay in order.

python-telegram-bot either handles one update at a time for everybody (one slow album holds
up the whole city) or runs them all concurrently (a conversation could see its answers
swapped). This processor runs updates concurrently, but an update starts only when the
earlier updates of the same sender and of the same chat have finished — in this process, and
with several webhook processes on one PostgreSQL in any of them (bot/intake/inbox_order.py). Floods
are refused here, before any handler or database work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.intake.inbox_order import InboxOrder
from bot.intake.throttle import FloodGuard, OnceInAWhile
from storage.inbox import Order

logger = logging.getLogger(__name__)

# Updates handled at the same moment. Waiting for one's turn does not count: a sender whose
# updates queue up behind each other never takes slots from everybody else.
RUNNING = 256
# python-telegram-bot's own bound covers waiting updates too; floods never get this far.
ADMITTED = 100_000
# "More than 20 updates in 10 seconds" from one sender or one chat is a flood.
FLOOD_LIMIT = 20
FLOOD_WINDOW = 10.0


def ordering_keys(update: object) -> tuple[Hashable, ...]:
    """The sender and the chat an update belongs to (either may be missing)."""
    sender_id, chat_id = order_of(update)
    keys: list[Hashable] = []
    if sender_id is not None:
        keys.append(("user", sender_id))
    if chat_id is not None:
        keys.append(("chat", chat_id))
    return tuple(keys)


def order_of(update: object) -> Order:
    """Whose order an update belongs to, as the inbox keeps it: its sender and its chat."""
    if not isinstance(update, Update):
        return Order(None, None)
    user, chat = update.effective_user, update.effective_chat
    return Order(user.id if user is not None else None, chat.id if chat is not None else None)


class OrderedUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across people and chats, in order within each, floods refused up front."""

    def __init__(
        self,
        *,
        running: int = RUNNING,
        flood: FloodGuard | None = None,
        on_done: Callable[[object], None] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates=ADMITTED)
        self._running = asyncio.Semaphore(running)
        self.flood = flood or FloodGuard(limit=FLOOD_LIMIT, window=FLOOD_WINDOW)
        # The last update in line for each key: the next one of that key waits for it.
        self._tails: dict[Hashable, asyncio.Future[None]] = {}
        # An album is one act of the person, however many photos it holds; when its last photo
        # arrived tells when the album has gone quiet.
        self._albums: OrderedDict[str, float] = OrderedDict()
        self._told_flood = OnceInAWhile(FLOOD_WINDOW)
        self.refused = 0
        # Told of every update once it is done with (handled, refused or failed): the inbox.
        self.on_done = on_done
        # Several webhook processes on one PostgreSQL: an update also waits for the earlier
        # ones of its sender and chat that other processes took (bot/intake/inbox_order.py).
        self.across: InboxOrder | None = None
        # Update ids seen, and whether each is done with (a copy of a done one is done too).
        self._update_ids: OrderedDict[int, bool] = OrderedDict()
        self._screened_ids: OrderedDict[int, None] = OrderedDict()

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        keys = ordering_keys(update)
        if self._seen_before(update):
            # The same update twice in one process: replayed from the inbox after a restart and
            # delivered again by Telegram. Once is enough; a copy of one already done is done
            # too (its row, written again, is forgotten again).
            _close(coroutine)
            if isinstance(update, Update) and self._update_ids.get(update.update_id):
                self._done(update)
            return
        if not self._screened(update) and not self._admit(update, keys):
            _close(coroutine)
            self._done(update)
            return
        if self.across is not None and isinstance(update, Update):
            try:
                await self.across.wait_turn(update.update_id, order_of(update))
            except BaseException:  # cancelled (the bot is stopping): its row stays in the inbox
                _close(coroutine)
                raise
        earlier = [tail for key in keys if (tail := self._tails.get(key)) is not None]
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for key in keys:
            self._tails[key] = mine
        started = False
        try:
            for tail in earlier:
                # Only its end matters; its failure was the error handler's business.
                await asyncio.shield(tail)
            async with self._running:
                started = True
                await coroutine
        finally:
            if not started:  # cancelled while waiting for its turn (the bot is stopping)
                _close(coroutine)
            else:
                self._done(update)
            mine.set_result(None)
            for key in keys:
                if self._tails.get(key) is mine:
                    del self._tails[key]

    def album_wait(self, user_id: int, album: str, quiet: float) -> float:
        """Seconds to wait before answering an album: until `quiet` seconds after its last photo
        arrived, and until none of the person's updates is still in line (a slow photo must not
        let the album look finished while the next photos wait their turn)."""
        if ("user", user_id) in self._tails:
            return min(quiet, 0.3)
        arrived = self._albums.get(album)
        return 0.0 if arrived is None else max(0.0, arrived + quiet - time.monotonic())

    def admit(self, update: object) -> bool:
        """Screen an update as it arrives (the update queue asks, before keeping it): False
        for a flood, which is then dropped before any work. A screened update is not counted
        again when it is processed."""
        admitted = self._admit(update, ordering_keys(update))
        if admitted and isinstance(update, Update):
            self._screened_ids[update.update_id] = None
            if len(self._screened_ids) > 10_000:
                self._screened_ids.popitem(last=False)
        return admitted

    def _screened(self, update: object) -> bool:
        return isinstance(update, Update) and self._screened_ids.pop(update.update_id, 0) is None

    def _seen_before(self, update: object) -> bool:
        if not isinstance(update, Update):
            return False
        if update.update_id in self._update_ids:
            return True
        self._update_ids[update.update_id] = False
        if len(self._update_ids) > 10_000:
            self._update_ids.popitem(last=False)
        return False

    def _done(self, update: object) -> None:
        if isinstance(update, Update):
            if update.update_id in self._update_ids:
                self._update_ids[update.update_id] = True
            if self.across is not None:
                self.across.done(update.update_id)
        if self.on_done is not None:
            self.on_done(update)

    @property
    def waiting_keys(self) -> int:
        """How many senders and chats have updates in line (for tests and metrics)."""
        return len(self._tails)

    def _admit(self, update: object, keys: tuple[Hashable, ...]) -> bool:
        if not keys or not self._counts(update):
            return True
        if self.flood.admit(*keys):
            return True
        self.refused += 1
        if self._told_flood.due(keys[0]):
            logger.info("refusing a flood from %s (over %d updates in %gs)", keys, *_limits(self))
        return False

    def _counts(self, update: object) -> bool:
        """Whether this update counts against its sender's flood limit (an album counts once)."""
        message = update.effective_message if isinstance(update, Update) else None
        album = message.media_group_id if message is not None else None
        if album is None:
            return True
        first = album not in self._albums
        self._albums[album] = time.monotonic()
        self._albums.move_to_end(album)
        if len(self._albums) > 10_000:
            self._albums.popitem(last=False)
        return first


def _limits(processor: OrderedUpdateProcessor) -> tuple[int, float]:
    return processor.flood.limit, processor.flood.window


def _close(coroutine: Awaitable[Any]) -> None:
    """Drop an update's handling without running it (and without a 'never awaited' warning)."""
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()
