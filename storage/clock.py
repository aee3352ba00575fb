"""The one clock hdbot reads the time of day and the calendar from.

Everything that asks "what time is it" — column defaults, deadlines, the push tick, the
sender's back-off — calls `utcnow()` here, so a test (or a demo) can move every part of hdbot
to another moment at once by installing another clock. Durations that never meet the
calendar (timeouts, rate limits) keep using `time.monotonic`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, aware, in UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """A clock that starts at a chosen moment and runs at the real pace from there.

    Time still passes (timeouts, back-off and quiet periods behave as in production), but the
    calendar is the one chosen, whatever day the machine thinks it is. `advance` jumps ahead.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock needs an aware start time")
        self._start = start.astimezone(UTC)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)

    def advance(self, by: timedelta) -> None:
        """Jump ahead (or back, with a negative span)."""
        self._start += by

    def set(self, moment: datetime) -> None:
        """Jump to a moment; the clock runs on from there."""
        self._start = moment.astimezone(UTC)
        self._origin = time.monotonic()


# Deliberately module state: column defaults and every process-wide reader need one source,
# and passing a clock into SQLAlchemy's defaults is not possible. Only entry points (the
# console script, the test fixtures) install another one.
_current: Clock = SystemClock()


def utcnow() -> datetime:
    """Return the current time, aware, in UTC, from the installed clock."""
    return _current.now()


def current_clock() -> Clock:
    """The clock in use."""
    return _current


def install(clock: Clock) -> Clock:
    """Make `clock` the one everything reads; return the one it replaces."""
    global _current
    previous, _current = _current, clock
    return previous


@contextmanager
def installed(clock: Clock) -> Iterator[Clock]:
    """Use `clock` for the duration of a block."""
    previous = install(clock)
    try:
        yield clock
    finally:
        install(previous)
