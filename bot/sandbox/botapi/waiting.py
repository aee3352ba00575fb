"""Waiting for a change made in another thread, from a plain thread or from any event loop.

The fake's state is touched by its server thread (the bot's requests) and by the test
(people acting). A Signal lets either side sleep until the other changes something,
without polling: threads wait on a Condition, coroutines on an Event set thread-safely
in their own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Signal:
    """Wakes every waiter when the state guarded by ``lock`` changes."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._condition = threading.Condition(lock)
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def notify(self) -> None:
        """Wake all waiters; call with the lock held, after changing the state."""
        with self._lock:
            self._condition.notify_all()
            for loop, event in list(self._async_waiters):
                # The waiter's loop may already be gone; it no longer waits then.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(event.set)

    def wait_sync(self, predicate: Callable[[], T], within: float) -> T:
        """Block until predicate() is truthy (evaluated under the lock) or ``within`` ends."""
        with self._condition:
            return self._condition.wait_for(predicate, within)

    async def wait(self, predicate: Callable[[], T], within: float) -> T:
        """Await until predicate() is truthy (evaluated under the lock) or ``within`` ends."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        event = asyncio.Event()
        waiter = (loop, event)
        with self._lock:
            self._async_waiters.add(waiter)
        try:
            while True:
                event.clear()
                with self._lock:
                    result = predicate()
                remaining = deadline - loop.time()
                if result or remaining <= 0:
                    return result
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
        finally:
            with self._lock:
                self._async_waiters.discard(waiter)
