"""The real bot, running in a thread of its own: for tests whose body must be synchronous
(hypothesis drives synchronous functions), the bot keeps its event loop while they act."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from bot.config import Settings
from tests.harness import RunningBot, running_bot

T = TypeVar("T")


class BotThread:
    """`with BotThread(settings) as bot:` — the bot answers while the test acts."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self._ready: Future[RunningBot] = Future()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="hdbot-under-test", daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> RunningBot:
        self._thread.start()
        return self._ready.result(timeout=60)

    def __exit__(self, *exc_info: object) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)
        if self.error is not None:
            raise self.error

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine on the bot's loop (seeding, looking at the database) and wait."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as err:  # shown to the test at exit
            self.error = err
            if not self._ready.done():
                self._ready.set_exception(err)
        finally:
            self.loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with running_bot(self.settings) as running:
            self._ready.set_result(running)
            await self._stop.wait()
