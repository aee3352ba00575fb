"""Cheap, in-memory brakes: floods dropped before any work, hints given once in a while.

Both are per process and forget everything on restart; that is fine for what they guard
(a stranger's flood, a repeated hint), and keeps them free of the database.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable

from storage.clock import utcnow


class FloodGuard:
    """Admits at most `limit` events per key in any `window` seconds; the rest are refused.

    Keys are a sender or a chat. A key that keeps flooding stays refused: refused events count
    too, so a script that sends without pause never gets a turn, while a person who pauses for
    the window is admitted again. Keys known to belong to registered people (`trust`) get the
    higher `trusted_limit`: a quick inspector tapping through a report is never slowed, while
    a stolen account still cannot flood.
    """

    def __init__(
        self,
        *,
        limit: int = 20,
        trusted_limit: int = 100,
        window: float = 10.0,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.trusted_limit = trusted_limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._seen: OrderedDict[Hashable, deque[float]] = OrderedDict()
        self._trusted: OrderedDict[Hashable, None] = OrderedDict()

    def trust(self, *keys: Hashable) -> None:
        """Give these keys the higher limit (the door found a registered person)."""
        for key in keys:
            self._trusted[key] = None
            self._trusted.move_to_end(key)
        while len(self._trusted) > self.max_keys:
            self._trusted.popitem(last=False)

    def distrust(self, *keys: Hashable) -> None:
        for key in keys:
            self._trusted.pop(key, None)

    def admit(self, *keys: Hashable) -> bool:
        """Count one event for each key; True when none of them is over its limit."""
        now = self.clock()
        admitted = True
        for key in keys:
            limit = self.trusted_limit if key in self._trusted else self.limit
            times = self._seen.get(key)
            if times is None:
                times = self._seen[key] = deque()
                if len(self._seen) > self.max_keys:
                    self._seen.popitem(last=False)  # the least recently active key
            else:
                self._seen.move_to_end(key)
            while times and now - times[0] >= self.window:
                times.popleft()
            if len(times) >= limit:
                admitted = False
            # A refused event counts only up to twice the limit: memory stays bounded.
            if len(times) < 2 * limit:
                times.append(now)
        return admitted


def _seconds_now() -> float:
    return utcnow().timestamp()


class OnceInAWhile:
    """Says yes to a key at most once per `every` seconds (a hint to a stranger, say).

    Minutes of the calendar, so it reads hdbot's clock (a test moves it on).
    """

    def __init__(
        self,
        every: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = _seconds_now,
    ) -> None:
        self.every = every
        self.max_keys = max_keys
        self.clock = clock
        self._last: OrderedDict[Hashable, float] = OrderedDict()

    def due(self, key: Hashable) -> bool:
        """True (and remembered) when `key` was not told within the last `every` seconds."""
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.every:
            return False
        self._last[key] = now
        self._last.move_to_end(key)
        if len(self._last) > self.max_keys:
            self._last.popitem(last=False)
        return True

    def forget(self, key: Hashable) -> None:
        """Allow the next hint at once (the person registered, the group was bound)."""
        self._last.pop(key, None)
