"""Pacing below Telegram's and WeCom's limits, kept per bot process.

Telegram allows a bot about 30 messages a second in all and about 20 a minute per group. The
answers to people and the pushes share both budgets through one `Pacer`: pushes wait for a
slot and are deferred when a group has had its share; answers never wait for a group's
minute (an update over a group's budget is dropped before it is handled, see
handlers/telegram/access.py) and a 429 holds up nobody but the update that got it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from telegram import Bot
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.wecom.api import WeComClient

logger = logging.getLogger(__name__)

TELEGRAM_PER_SECOND = 30
GROUP_PER_MINUTE = 20
# A private answer that got a short 429 is tried once more after the wait; longer waits and
# groups give up at once (the person can ask again; a group's flood is not worth a wait).
RETRY_PRIVATE_UP_TO = 3.0
SENDING = ("send", "copyMessage", "forwardMessage")
WINDOW = 1.0  # the overall rate is kept over any window of this many seconds


class Pacer:
    """Counts every message the bot sends, overall and per group chat.

    Pushes take at most `per_second` a second and wait for it; answers may use the rest of
    Telegram's `overall` budget, pushes included. A 429 pauses pushes (`pause`), never answers.
    """

    def __init__(
        self,
        *,
        per_second: float = 25.0,
        per_chat: int = GROUP_PER_MINUTE,
        overall: float = TELEGRAM_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.per_chat = per_chat
        self.overall = max(overall, per_second)
        self.clock = clock
        # Every message sent, pushes and answers alike, stamped when its request came back (it
        # reached Telegram no later), and the messages whose requests are still out: a new slot
        # counts both, so whatever Telegram saw in its last second is counted.
        self._sent: deque[float] = deque()
        self._in_flight = 0
        self._chats: dict[str, deque[float]] = defaultdict(deque)
        self._paused_until = 0.0
        self._chat_paused_until: dict[str, float] = {}

    def chat_delay(self, chat: str | None) -> float:
        """Seconds until this chat may receive another message (0: now)."""
        if chat is None:
            return 0.0
        now = self.clock()
        paused = self._chat_paused_until.get(chat, 0.0) - now
        if paused <= 0:
            self._chat_paused_until.pop(chat, None)
        times = self._chats.get(chat)
        if not times:
            return max(paused, 0.0)
        while times and now - times[0] >= 60:
            times.popleft()
        if not times:
            del self._chats[chat]
        full = 0.0 if len(times) < self.per_chat else 60 - (now - times[0]) + 0.05
        return max(full, paused, 0.0)

    async def slot(self) -> None:
        """Wait until one more push fits in the last second (and no 429 pause is on); take it."""
        while True:
            now = self.clock()
            if now < self._paused_until:
                await asyncio.sleep(self._paused_until - now)
                continue
            wait = self._wait(now, self.per_second, 1)
            if wait <= 0:
                self._in_flight += 1
                return
            await asyncio.sleep(wait)

    @contextlib.asynccontextmanager
    async def push_slot(self) -> AsyncIterator[Slot]:
        """A push's slot (see `slot`), given back as sent whatever happens to the request."""
        await self.slot()
        taken = Slot(self)
        try:
            yield taken
        finally:
            taken.sent(None, 0)

    async def answer_slot(self, messages: int = 1) -> None:
        """Wait (a fraction of a second at most) until `messages` more fit Telegram's overall
        rate, counting the pushes; take them."""
        messages = max(1, min(messages, int(self.overall)))
        while True:
            now = self.clock()
            wait = self._wait(now, self.overall, messages)
            if wait <= 0:
                self._in_flight += messages
                return
            await asyncio.sleep(wait)

    def _wait(self, now: float, rate: float, messages: int) -> float:
        """Seconds until `messages` more fit under `rate` in any window of WINDOW seconds."""
        while self._sent and now - self._sent[0] >= WINDOW:
            self._sent.popleft()
        over = len(self._sent) + self._in_flight + messages - int(rate)
        if over <= 0:
            return 0.0
        if over > len(self._sent):  # wait for requests in flight to come back
            return 0.01
        return WINDOW - (now - self._sent[over - 1]) + 0.001

    def sent(self, chat: str | None, messages: int = 1, *, taken: int = 1) -> None:
        """`messages` went out to `chat` (None: a private chat, or the request failed) on
        `taken` slots (0: sent without one)."""
        now = self.clock()
        self._in_flight = max(0, self._in_flight - taken)
        self._sent.extend([now] * max(messages, taken))
        if chat is not None:
            self._chats[chat].extend([now] * messages)

    def pause(self, seconds: float, chat: str | None = None) -> None:
        """Telegram said 429: no pushes (to `chat`, or at all) for `seconds`."""
        until = self.clock() + seconds
        if chat is None:
            self._paused_until = max(self._paused_until, until)
        else:
            self._chat_paused_until[chat] = max(self._chat_paused_until.get(chat, 0.0), until)


@dataclass
class Slot:
    """One message's place in the pacer's second, settled once."""

    pacer: Pacer
    settled: bool = False

    def sent(self, chat: str | None, messages: int = 1) -> None:
        if not self.settled:
            self.settled = True
            self.pacer.sent(chat, messages)


@dataclass
class SenderState:
    """One per process: its pacer, a lock so drains do not overlap, an HTTP client for WeCom's
    robots, the WeCom application's client, its own Bot, and the file ids of countdown cards
    already uploaded."""

    pacer: Pacer = field(default_factory=Pacer)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    http: httpx.AsyncClient | None = None
    # One client per process, shared with the WeCom front: one access token for both.
    wecom: WeComClient | None = None
    # Pushes go through a Bot without the rate limiter: on a 429 the outbox reschedules the
    # push at once, instead of a limiter holding every answer to people while it waits.
    bot: Bot | None = None
    card_ids: dict[str, str] = field(default_factory=dict)


def chat_key(chat_id: object) -> str | None:
    """The key a group chat's per-minute budget is kept under; None for private chats."""
    text = str(chat_id) if isinstance(chat_id, int | str) else ""
    return text if text.startswith("-") else None


def seconds_of(retry_after: float | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after


class AnswerLimiter(BaseRateLimiter[int]):
    """The rate limiter of answers to people, sharing the pacer with the pushes.

    Unlike python-telegram-bot's AIORateLimiter it never sleeps for a group's minute (the
    update would hold up that group's next ones) and a 429 pauses nobody else's answers: a
    private answer is retried once after a short wait, anything else gives up at once.
    """

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        sends = endpoint.startswith(SENDING)
        chat = chat_key(data.get("chat_id"))
        media = data.get("media")
        expected = len(media) if isinstance(media, list) and media else 1
        for attempt in (1, 2):
            if sends:
                await self.pacer.answer_slot(expected)
            try:
                result = await callback(*args, **kwargs)
            except BaseException as err:
                if sends:
                    self.pacer.sent(None, 0, taken=expected)
                if not isinstance(err, RetryAfter):
                    raise
                seconds = seconds_of(err.retry_after)
                self.pacer.pause(seconds, chat)
                if chat is not None or attempt == 2 or seconds > RETRY_PRIVATE_UP_TO:
                    logger.warning("%s to %s refused for %gs (429)", endpoint, chat, seconds)
                    raise
                await asyncio.sleep(seconds)
                continue
            if sends:
                messages = len(result) if isinstance(result, list) else 1
                self.pacer.sent(chat, messages, taken=expected)
            return result
        raise AssertionError("unreachable")
