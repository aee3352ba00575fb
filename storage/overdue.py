"""Overdue: past its deadline and not closed — the one definition, for SQL and for Python.

A deadline is a date in the campaign's time zone, so "today" is the campaign's date at the
moment asked (`campaign_day`): a hidden danger due on the 6th is overdue from midnight on the
7th in the campaign's zone (Asia/Shanghai), not in UTC. Every query, and every check of one
record, says "overdue" through this module, so the figures, the lists, the ledger and the
pushes count the same records.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_

from storage.models import DangerStatus, HiddenDanger, Task, TaskStatus

# Not closed. Named one by one (not "!= closed") so that the (unit, status, deadline) index
# answers a condition on them as three ranges.
OPEN_STATUSES = (DangerStatus.REPORTED, DangerStatus.RECTIFYING, DangerStatus.SUBMITTED)


def campaign_day(timezone: str, now: datetime) -> date:
    """The date it is in the campaign's time zone at `now` (an aware moment)."""
    return now.astimezone(ZoneInfo(timezone)).date()


def overdue_condition(today: date) -> ColumnElement[bool]:
    """SQL: a hidden danger not closed and past its deadline on `today`.

    `today` minus n days selects what has been overdue for more than n days.
    """
    return and_(HiddenDanger.status.in_(OPEN_STATUSES), HiddenDanger.deadline < today)


def is_overdue(*, status: str, deadline: date, today: date) -> bool:
    """Python: the same rule as `overdue_condition`, for one record already loaded."""
    return status in OPEN_STATUSES and deadline < today


def days_overdue(*, status: str, deadline: date, today: date) -> int:
    """How many days past its deadline an overdue record is; 0 when it is not overdue."""
    return (
        (today - deadline).days if is_overdue(status=status, deadline=deadline, today=today) else 0
    )


def task_overdue_condition(today: date) -> ColumnElement[bool]:
    """SQL: a task not done and past its due date on `today` (the table's "past due")."""
    return and_(Task.status != TaskStatus.DONE, Task.due_date < today)
