"""Pacing of pushes below Telegram's and WeCom's limits, kept per bot process."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx


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
    """One per process: its pacer, a lock so drains do not overlap, an HTTP client for WeCom."""

    pacer: Pacer = field(default_factory=Pacer)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    http: httpx.AsyncClient | None = None
