"""Each person's updates in order across several webhook processes on one PostgreSQL.

Behind one webhook address any process may get any update, so the order kept inside one
process (bot/intake/updates.py) is not enough: a person's second message could be handled by one
process while their first is still being handled by another. Every update is in the inbox
before Telegram is told it arrived (bot/intake/inbox.py), with its sender and chat; and Telegram
posts an update of a chat only once the previous one was answered (the Bot API server keeps
one queue per chat and sends its next update after a 2xx). So when an update arrives, the
earlier updates of its sender and chat are either handled and forgotten, or still in the
inbox: it waits until none of those is left. A row of a process that died stays until another
adopts and handles it (bot/app.py, every few seconds), so order holds across a crash too.

Waiting costs one indexed query per round for all the updates waiting in this process, a
round as soon as an update arrives or one of this process's updates is done, else every
`POLL` seconds while any waits for another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from dataclasses import dataclass

from storage import inbox
from storage.db import Sessions

logger = logging.getLogger(__name__)

POLL = 0.05  # seconds between looks while an update waits for another process
RETRY_AFTER_ERROR = 1.0  # the database failed a look: waiting updates keep waiting
# Updates this process is done with whose rows may not be forgotten yet: they never hold
# anything up. (The forgetting follows within milliseconds; this is ample.)
REMEMBERED = 10_000


@dataclass(slots=True)
class _Waiting:
    kept: inbox.Kept
    turn: asyncio.Future[None]
    held_up: bool = False


class InboxOrder:
    """Lets an update start only once the earlier updates of its sender and chat, in any
    process, are done."""

    def __init__(self, sessions: Sessions, *, poll: float = POLL) -> None:
        self.sessions = sessions
        self.poll = poll
        self._waiting: dict[int, _Waiting] = {}
        self._done: OrderedDict[int, None] = OrderedDict()
        self._wake = asyncio.Event()
        self._looking: asyncio.Task[None] | None = None
        self.waited = 0  # updates that had to wait for an earlier one (for tests and metrics)

    async def wait_turn(self, update_id: int, order: inbox.Order) -> None:
        """Return once no earlier update of `order`'s sender or chat is left in the inbox."""
        if order.sender_id is None and order.chat_id is None:
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[update_id] = _Waiting(inbox.Kept(update_id, *order), turn)
        self._wake.set()
        if self._looking is None or self._looking.done():
            self._looking = asyncio.get_running_loop().create_task(self._look())
        try:
            await turn
        finally:
            self._waiting.pop(update_id, None)

    def done(self, update_id: int) -> None:
        """This process is done with the update: it holds nothing up any more, even before its
        row is forgotten."""
        self._done[update_id] = None
        if len(self._done) > REMEMBERED:
            self._done.popitem(last=False)
        if self._waiting:
            self._wake.set()

    @property
    def waiting(self) -> int:
        """How many updates wait for their turn now."""
        return len(self._waiting)

    async def _look(self) -> None:
        """Look at the inbox for every waiting update at once, until none waits."""
        while self._waiting:
            self._wake.clear()
            waiting = list(self._waiting.values())
            try:
                async with self.sessions() as session:
                    earlier = await inbox.kept_before(session, [w.kept for w in waiting])
            except Exception:
                logger.warning("could not look at the inbox's order; trying again", exc_info=True)
                await asyncio.sleep(RETRY_AFTER_ERROR)
                continue
            blocking = [row for row in earlier if row.update_id not in self._done]
            for one in waiting:
                if one.turn.done():
                    continue  # cancelled: the bot is stopping
                if any(_holds_up(row, one.kept) for row in blocking):
                    one.held_up = True
                else:
                    self.waited += one.held_up
                    one.turn.set_result(None)
            if any(not one.turn.done() for one in waiting):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll)
            else:
                await asyncio.sleep(0)  # let the started ones run before the next look


def _holds_up(row: inbox.Kept, update: inbox.Kept) -> bool:
    """Whether the kept `row` must be done before `update` may start."""
    if row.update_id >= update.update_id:
        return False
    same_sender = update.sender_id is not None and row.sender_id == update.sender_id
    same_chat = update.chat_id is not None and row.chat_id == update.chat_id
    return same_sender or same_chat
