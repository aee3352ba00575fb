"""The tests' calendar: one fixed moment every test starts at, whatever day the machine says.

The autouse `clock` fixture (conftest.py) installs a clock that starts at `NOW` and runs at the
real pace, so sleeps, timeouts and quiet periods behave as in production while every date the
code computes is the same on any day the suite runs. Nothing in a test reads the machine's
calendar: ask `today()` or `utcnow()` (storage.clock) instead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from storage.clock import utcnow

TZ = ZoneInfo("Asia/Shanghai")
# 10:00 in Dalian on a Sunday a month before the test campaign closes (2026-12-31).
NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def at(day: str, hhmm: str) -> datetime:
    """A moment in the campaign's time zone, as the aware UTC time the code works with."""
    local = datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=TZ)
    return local.astimezone(UTC)


def today() -> date:
    """Today in the campaign's time zone, by the test clock."""
    return utcnow().astimezone(TZ).date()


def clock_env() -> dict[str, str]:
    """The environment that starts a child `hdbot` process on the test clock's current moment."""
    return {"HDBOT_CLOCK_START": utcnow().isoformat()}
