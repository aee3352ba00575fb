"""Overdue has one definition: the SQL condition and the Python check agree, at the campaign's
midnight (not UTC's), for every status."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from storage.campaigns import require_campaign
from storage.clock import ShiftedClock, utcnow
from storage.db import Sessions
from storage.models import DangerStatus, HiddenDanger
from storage.overdue import campaign_day, days_overdue, is_overdue, overdue_condition
from tests.timeline import at
from tests.world import report, world

# (moment, relative to the deadline day D in the campaign's zone; overdue when not closed?)
BOUNDARY = [
    (0, "00:00", False),
    (0, "23:59", False),  # the whole of the last day is still in time
    (1, "00:00", True),  # UTC still says D here (16:00): the campaign's calendar decides
    (1, "07:59", True),  # D 23:59 in UTC
    (1, "08:00", True),
    (30, "12:00", True),
    (-3, "12:00", False),
]


async def _overdue_in_sql(sessions: Sessions, danger_id: int, today: date) -> bool:
    async with sessions() as s:
        n = await s.scalar(
            select(func.count())
            .select_from(HiddenDanger)
            .where(HiddenDanger.id == danger_id, overdue_condition(today))
        )
    return n == 1


@pytest.mark.parametrize("status", list(DangerStatus))
async def test_the_query_and_the_check_agree_across_the_campaigns_midnight(
    sessions: Sessions, clock: ShiftedClock, status: DangerStatus
) -> None:
    await world(sessions)
    danger_id = await report(sessions)
    async with sessions() as s:
        await s.execute(
            update(HiddenDanger).where(HiddenDanger.id == danger_id).values(status=status)
        )
        await s.commit()
        danger = await s.get(HiddenDanger, danger_id)
        assert danger is not None
        deadline = danger.deadline
        timezone = (await require_campaign(s)).timezone
    for days_after, hhmm, late_when_open in BOUNDARY:
        clock.set(at((deadline + timedelta(days=days_after)).isoformat(), hhmm))
        today = campaign_day(timezone, utcnow())
        expected = late_when_open and status != DangerStatus.CLOSED
        case = (status, days_after, hhmm)
        assert is_overdue(status=status, deadline=deadline, today=today) is expected, case
        assert await _overdue_in_sql(sessions, danger_id, today) is expected, case
        assert days_overdue(status=status, deadline=deadline, today=today) == (
            (today - deadline).days if expected else 0
        ), case


def test_the_campaigns_day_is_its_own_zones() -> None:
    moment = at("2026-12-07", "00:30")  # 2026-12-06 16:30 in UTC
    assert moment.date() == date(2026, 12, 6)
    assert campaign_day("Asia/Shanghai", moment) == date(2026, 12, 7)
    assert campaign_day("UTC", moment) == date(2026, 12, 6)
