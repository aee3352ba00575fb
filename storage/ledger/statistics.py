"""The statistics: per unit and in total, found, closed, open, overdue, and the weekly trend."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.figures import overdue_count, tally
from storage.ledger.scope import LedgerScope, found_between
from storage.models import DangerStatus, HiddenDanger, RecordKind, Unit
from storage.overdue import overdue_condition
from storage.units import single_root, unit_tree


@dataclass(frozen=True, slots=True)
class UnitStats:
    unit: str
    found: int
    closed: int
    open: int
    overdue: int
    rate: int | None  # percent closed of found; None when nothing was found
    avg_days_to_close: float | None
    own_only: bool = False  # the unit's own hidden dangers, without those of units below


@dataclass(frozen=True, slots=True)
class WeekStats:
    week: str  # ISO week, e.g. 2026-W48
    found: int
    closed: int
    open_end: int


@dataclass(frozen=True, slots=True)
class Stats:
    scope_name: str | None
    today: date
    units: list[UnitStats]
    total: UnitStats
    weeks: list[WeekStats]


async def statistics(session: AsyncSession, scope: LedgerScope, *, weeks: int = 8) -> Stats:
    """Per unit (with its sub-units) and in total: found, closed, open, overdue, rate, average
    days to close; and the last `weeks` weeks' trend.

    Without a period the figures come from the tally the database keeps (a few rows per unit);
    with one, from the index of the dates found. The trend reads the index of the last weeks.
    """
    tree = await unit_tree(session)
    names = dict((await session.execute(select(Unit.id, Unit.name))).all())
    # Which units to list: the units directly below the scope's top (or the scope's units).
    if scope.unit_ids is None:
        top = await single_root(session)
    else:
        top = next(
            (uid for uid in scope.unit_ids if tree.parents.get(uid) not in scope.unit_ids), None
        )
    listed = (
        []  # no unit at all in the scope: nothing to list
        if scope.unit_ids is not None and top is None
        else sorted(
            (uid for uid, parent in tree.parents.items() if parent == top),
            key=lambda uid: names[uid],
        )
    )
    rows: list[tuple[str, set[int] | None, bool]] = []
    if top is not None:
        # The top unit's own hidden dangers (not its sub-units') count too.
        rows.append((names.get(top, ""), {top}, True))
    rows += [(names[uid], tree.below(uid), False) for uid in listed]
    units = [
        replace(await _unit_stats(session, scope, name, ids), own_only=own)
        for name, ids, own in rows
    ]
    total = await _unit_stats(
        session, scope, scope.unit_name or scope.campaign.name, scope.unit_ids
    )
    return Stats(scope.unit_name, scope.today, units, total, await _trend(session, scope, weeks))


async def _trend(session: AsyncSession, scope: LedgerScope, weeks: int) -> list[WeekStats]:
    """Found and closed per ISO week, and what stayed open at each week's end.

    Open at a moment = found before it - closed before it (a closed one was found before it was
    closed), and both are the totals less what came after: so two range counts over the last
    weeks and the tally give every week.
    """
    tz = scope.tz
    start_day = scope.today - timedelta(days=scope.today.weekday() + 7 * (weeks - 1))
    bounds = [
        datetime.combine(start_day + timedelta(days=7 * n), time(0), tzinfo=tz).astimezone(UTC)
        for n in range(weeks + 1)
    ]
    mine = [
        HiddenDanger.campaign_id == scope.campaign.id,
        HiddenDanger.kind == RecordKind.HIDDEN_DANGER,
    ]
    if scope.unit_ids is not None:
        mine.append(HiddenDanger.unit_id.in_(scope.unit_ids))

    async def per_week(column: Any) -> list[int]:
        stmt = select(
            *(
                func.count().filter(column >= lo, column < hi)
                for lo, hi in itertools.pairwise(bounds)
            ),
            func.count().filter(column >= bounds[-1]),
        ).where(*mine, column >= bounds[0])
        return [int(n or 0) for n in (await session.execute(stmt)).one()]

    found, closed = await per_week(HiddenDanger.created_at), await per_week(HiddenDanger.closed_at)
    counted = await tally(session, campaign_id=scope.campaign.id, unit_ids=scope.unit_ids)
    trend = []
    for n in range(weeks):
        found_before = counted.found - sum(found[n + 1 :])
        closed_before = counted.closed - sum(closed[n + 1 :])
        year, week, _ = (start_day + timedelta(days=7 * n)).isocalendar()
        trend.append(
            WeekStats(f"{year}-W{week:02d}", found[n], closed[n], found_before - closed_before)
        )
    return trend


async def _unit_stats(
    session: AsyncSession, scope: LedgerScope, name: str, unit_ids: set[int] | None
) -> UnitStats:
    campaign_id = scope.campaign.id
    if scope.date_from is None and scope.date_to is None:
        counted = await tally(session, campaign_id=campaign_id, unit_ids=unit_ids)
        found, closed, average = counted.found, counted.closed, counted.average_days
        overdue = await overdue_count(
            session, campaign_id=campaign_id, unit_ids=unit_ids, today=scope.today
        )
    else:
        found, closed, overdue, average = await _found_in_period(session, scope, unit_ids)
    return UnitStats(
        unit=name,
        found=found,
        closed=closed,
        open=found - closed,
        overdue=overdue,
        rate=100 * closed // found if found else None,
        avg_days_to_close=average,
    )


async def _found_in_period(
    session: AsyncSession, scope: LedgerScope, unit_ids: set[int] | None
) -> tuple[int, int, int, float | None]:
    """Found, closed, overdue and the average days to close of those found in the period."""
    closed_now = HiddenDanger.status == DangerStatus.CLOSED
    if session.get_bind().dialect.name == "sqlite":
        days = func.julianday(HiddenDanger.closed_at) - func.julianday(HiddenDanger.created_at)
    else:
        days = func.extract("epoch", HiddenDanger.closed_at - HiddenDanger.created_at) / 86400
    stmt = select(
        func.count(),
        func.count().filter(closed_now),
        func.count().filter(overdue_condition(scope.today)),
        func.avg(case((closed_now, days))),
    ).where(
        HiddenDanger.campaign_id == scope.campaign.id,
        HiddenDanger.kind == RecordKind.HIDDEN_DANGER,
        *found_between(scope, HiddenDanger.created_at),
    )
    if unit_ids is not None:
        stmt = stmt.where(HiddenDanger.unit_id.in_(unit_ids))
    found, closed, overdue, average = (await session.execute(stmt)).one()
    return (
        int(found or 0),
        int(closed or 0),
        int(overdue or 0),
        round(float(average), 1) if average is not None else None,
    )
