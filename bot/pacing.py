"""Pacing below Telegram's and WeCom's limits, kept per bot process.

Telegram allows a bot about 30 messages a second in all and about 20 a minute per group. The
answers to people and the pushes share both budgets through one `Pacer`: pushes wait for a
slot and are deferred when a group has had its share; answers never wait for a group's
minute (an update over a group's budget is dropped before it is handled, see
handlers/access.py) and a 429 holds up nobody but the update that got it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from telegram import Bot
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

TELEGRAM_PER_SECOND = 30
GROUP_PER_MINUTE = 20
# A private answer that got a short 429 is tried once more after the wait; longer waits and
# groups give up at once (the person can ask again; a group's flood is not worth a wait).
RETRY_PRIVATE_UP_TO = 3.0
SENDING = ("send", "copyMessage", "forwardMessage")


class Pacer:
    """Counts every message the bot sends, overall and per group chat.

    Pushes take at most `per_second` a second and wait for it; answers may use all of
    Telegram's `overall` budget. A 429 pauses pushes (`pause`), never answers.
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
        self._sent: deque[float] = deque()
        self._chats: dict[str, deque[float]] = defaultdict(deque)
        self._paused_until = 0.0
        self._chat_paused_until: dict[str, float] = {}
        # Answers draw on a bucket of Telegram's rate: a burst of `overall` at once, then
        # `overall` a second (python-telegram-bot's own limiter allows as much).
        self._tokens = float(self.overall)
        self._filled_at = clock()

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
        """Wait until one more push fits in the last second (and no 429 pause is on)."""
        while True:
            now = self.clock()
            if now < self._paused_until:
                await asyncio.sleep(self._paused_until - now)
                continue
            wait = self._wait(now, self.per_second)
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    async def answer_slot(self) -> None:
        """Wait (a fraction of a second at most) until an answer fits Telegram's overall rate."""
        while True:
            now = self.clock()
            self._tokens = min(self.overall, self._tokens + (now - self._filled_at) * self.overall)
            self._filled_at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self.overall)

    def _wait(self, now: float, rate: float) -> float:
        while self._sent and now - self._sent[0] >= 1:
            self._sent.popleft()
        if len(self._sent) < rate:
            return 0.0
        return 1 - (now - self._sent[int(len(self._sent) - rate)]) + 0.001

    def sent(self, chat: str | None, messages: int = 1) -> None:
        now = self.clock()
        for _ in range(messages):
            self._sent.append(now)
            if chat is not None:
                self._chats[chat].append(now)

    def pause(self, seconds: float, chat: str | None = None) -> None:
        """Telegram said 429: no pushes (to `chat`, or at all) for `seconds`."""
        until = self.clock() + seconds
        if chat is None:
            self._paused_until = max(self._paused_until, until)
        else:
            self._chat_paused_until[chat] = max(self._chat_paused_until.get(chat, 0.0), until)


@dataclass
class SenderState:
    """One per process: its pacer, a lock so drains do not overlap, an HTTP client for WeCom,
    its own Bot, and the file ids of countdown cards already uploaded."""

    pacer: Pacer = field(default_factory=Pacer)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    http: httpx.AsyncClient | None = None
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
        for attempt in (1, 2):
            if sends:
                await self.pacer.answer_slot()
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as err:
                seconds = seconds_of(err.retry_after)
                self.pacer.pause(seconds, chat)
                if chat is not None or attempt == 2 or seconds > RETRY_PRIVATE_UP_TO:
                    logger.warning("%s to %s refused for %gs (429)", endpoint, chat, seconds)
                    raise
                await asyncio.sleep(seconds)
                continue
            if sends:
                messages = len(result) if isinstance(result, list) else 1
                self.pacer.sent(chat, messages)
            return result
        raise AssertionError("unreachable")
