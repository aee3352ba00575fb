"""Pacing of pushes below Telegram's and WeCom's limits, kept per bot process."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
from telegram import Bot
from telegram.ext import AIORateLimiter


class Pacer:
    """Sends at most `per_second` pushes a second overall and `per_chat` a minute per chat."""

    def __init__(
        self,
        *,
        per_second: float = 25.0,
        per_chat: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.per_chat = per_chat
        self.clock = clock
        self._sent: deque[float] = deque()
        self._chats: dict[str, deque[float]] = defaultdict(deque)

    def chat_delay(self, chat: str | None) -> float:
        """Seconds until this chat may receive another push (0: now)."""
        if chat is None:
            return 0.0
        times = self._chats[chat]
        now = self.clock()
        while times and now - times[0] >= 60:
            times.popleft()
        return 0.0 if len(times) < self.per_chat else 60 - (now - times[0]) + 0.05

    async def slot(self) -> None:
        """Wait until one more push fits in the last second."""
        while True:
            now = self.clock()
            while self._sent and now - self._sent[0] >= 1:
                self._sent.popleft()
            if len(self._sent) < self.per_second:
                return
            await asyncio.sleep(1 - (now - self._sent[0]) + 0.001)

    def sent(self, chat: str | None, messages: int = 1) -> None:
        now = self.clock()
        for _ in range(messages):
            self._sent.append(now)
            if chat is not None:
                self._chats[chat].append(now)


@dataclass
class SenderState:
    """One per process: its pacer, a lock so drains do not overlap, an HTTP client for WeCom,
    its own Bot, and the file ids of countdown cards already uploaded."""

    pacer: Pacer = field(default_factory=Pacer)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    http: httpx.AsyncClient | None = None
    # Pushes go through a Bot without the rate limiter: on a 429 the outbox reschedules the
    # push at once, instead of the limiter holding every answer to people while it waits.
    bot: Bot | None = None
    card_ids: dict[str, str] = field(default_factory=dict)


class SharedRateLimiter(AIORateLimiter):
    """python-telegram-bot's limiter for answers, telling the push pacer about every message.

    Telegram's limit of about 30 messages a second is for the bot as a whole: pushes only take
    what the answers to people leave of the push rate.
    """

    def __init__(self, pacer: Pacer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pacer = pacer

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint.startswith(("send", "copyMessage", "forwardMessage")):
            self.pacer.sent(None)
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
