"""A watch for database transactions left open while the bot talks to Telegram.

While one is open, SQLite's write lock (or a PostgreSQL snapshot and row locks) is held for as
long as the network takes: every other writer waits behind a slow send. The watch notes, for
each asyncio task, the transactions it has begun and not yet ended, and every Bot API request
made by a task that still has one.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from bot.transport import AiohttpRequest


class TransactionWatch:
    def __init__(self) -> None:
        self._open: dict[int, asyncio.Task[Any] | None] = {}
        self.violations: list[str] = []

    def _begin(self, connection: Connection) -> None:
        self._open[id(connection)] = _task()

    def _end(self, connection: Connection) -> None:
        self._open.pop(id(connection), None)

    def check(self, url: str) -> None:
        task = _task()
        if task is not None and any(t is task for t in self._open.values()):
            where = "".join(traceback.format_stack(limit=12)[:-2])
            self.violations.append(f"{url.rsplit('/', 1)[-1]} inside a transaction:\n{where}")

    @contextmanager
    def watching(self) -> Iterator[TransactionWatch]:
        original = AiohttpRequest.do_request
        watch = self

        async def do_request(self: AiohttpRequest, url: str, method: str, *a: Any, **k: Any) -> Any:
            watch.check(url)
            return await original(self, url, method, *a, **k)

        listeners = [("begin", self._begin), ("commit", self._end), ("rollback", self._end)]
        for name, fn in listeners:
            event.listen(Engine, name, fn)
        AiohttpRequest.do_request = do_request  # type: ignore[method-assign]
        try:
            yield self
        finally:
            AiohttpRequest.do_request = original  # type: ignore[method-assign]
            for name, fn in listeners:
                event.remove(Engine, name, fn)


def _task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop (a thread of aiosqlite's)
        return None
