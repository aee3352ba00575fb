"""The campaign's figures: tasks done, hidden dangers found, closed, open and overdue, by unit."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Row, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    DangerLevel,
    DangerStatus,
    DangerTally,
    HiddenDanger,
    RecordKind,
    Task,
    TaskStatus,
    Unit,
)
from storage.overdue import overdue_condition, task_overdue_condition
from storage.units import unit_tree


@dataclass(frozen=True, slots=True)
class Figures:
    """Counts for one unit with everything below it (or the whole campaign)."""

    tasks_total: int
    tasks_done: int
    tasks_overdue: int
    found: int
    closed: int
    open: int
    overdue: int
    major_open: int

    @property
    def tasks_percent(self) -> int:
        # Floor, not round: 831 of 832 done is not "100%".
        return 100 * self.tasks_done // self.tasks_total if self.tasks_total else 0

    @property
    def rectification_rate(self) -> int:
        """Closed as a share of found, in percent (100 when nothing was found)."""
        return 100 * self.closed // self.found if self.found else 100


@dataclass(frozen=True, slots=True)
class UnitFigures:
    unit_id: int
    unit_name: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class Tally:
    """Hidden dangers by status and level, from the tally the database keeps (danger_tally)."""

    found: int
    closed: int
    major_open: int
    closed_days: float  # the days closed ones took from report to close, summed

    @property
    def average_days(self) -> float | None:
        return round(self.closed_days / self.closed, 1) if self.closed else None

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str, int, float]]) -> Tally:
        """Sum tally rows of (status, level, n, closed_days)."""
        found = closed = major_open = 0
        closed_days = 0.0
        for status, level, n, days in rows:
            found += n
            if status == DangerStatus.CLOSED:
                closed += n
                closed_days += days
            elif level == DangerLevel.MAJOR:
                major_open += n
        return cls(found, closed, major_open, closed_days)


async def tally(
    session: AsyncSession, *, campaign_id: int, unit_ids: Collection[int] | None
) -> Tally:
    """The hidden dangers of these units (None: all) by status, read from a few tally rows."""
    stmt = select(
        DangerTally.status, DangerTally.level, DangerTally.n, DangerTally.closed_days
    ).where(
        DangerTally.campaign_id == campaign_id,
        # The figures are of hidden dangers; problems and risks are lists of their own.
        DangerTally.kind == RecordKind.HIDDEN_DANGER,
    )
    if unit_ids is not None:
        stmt = stmt.where(DangerTally.unit_id.in_(unit_ids))
    return Tally.of((await session.execute(stmt)).all())


async def overdue_count(
    session: AsyncSession, *, campaign_id: int, unit_ids: Collection[int] | None, today: date
) -> int:
    """Hidden dangers of these units past their deadline and not closed, counted on the index."""
    stmt = (
        select(func.count())
        .select_from(HiddenDanger)
        .where(
            overdue_condition(today),
            HiddenDanger.kind == RecordKind.HIDDEN_DANGER,
            HiddenDanger.campaign_id == campaign_id,
        )
    )
    if unit_ids is not None:
        stmt = stmt.where(HiddenDanger.unit_id.in_(unit_ids))
    return int(await session.scalar(stmt) or 0)


async def figures(
    session: AsyncSession, *, campaign_id: int, unit_ids: Collection[int] | None, today: date
) -> Figures:
    """Count tasks and hidden dangers of these units (None: all), as of `today`."""
    counted = await tally(session, campaign_id=campaign_id, unit_ids=unit_ids)
    overdue = await overdue_count(session, campaign_id=campaign_id, unit_ids=unit_ids, today=today)
    task_q = select(
        func.count(),
        func.sum(case((Task.status == TaskStatus.DONE, 1), else_=0)),
        func.sum(case((task_overdue_condition(today), 1), else_=0)),
    ).where(Task.campaign_id == campaign_id)
    if unit_ids is not None:
        task_q = task_q.where(Task.unit_id.in_(unit_ids))
    tasks_total, tasks_done, tasks_overdue = (await session.execute(task_q)).one()
    return Figures(
        tasks_total=int(tasks_total or 0),
        tasks_done=int(tasks_done or 0),
        tasks_overdue=int(tasks_overdue or 0),
        found=counted.found,
        closed=counted.closed,
        open=counted.found - counted.closed,
        overdue=overdue,
        major_open=counted.major_open,
    )


async def ranking(
    session: AsyncSession, *, campaign_id: int, parent_id: int | None, today: date
) -> list[UnitFigures]:
    """The units directly below `parent_id` (None: the top units), most overdue first.

    Counted once for every unit (the tally, the overdue index grouped by unit, the tasks) and
    summed up the tree here: a province's ranking is three queries, not three per city.
    """
    children = list(
        await session.execute(
            select(Unit.id, Unit.name).where(Unit.parent_id == parent_id).order_by(Unit.name)
        )
    )
    tree = await unit_tree(session)
    within = (
        tree.below(parent_id)
        if parent_id is not None
        else {u for c, _ in children for u in tree.below(c)}
    )
    tallies = await _tallies_by_unit(session, campaign_id)
    late = await _overdue_by_unit(session, campaign_id, within, today)
    tasks = await _tasks_by_unit(session, campaign_id, today)
    rows = []
    for unit_id, name in children:
        below = tree.below(unit_id)
        counts = Tally.of((st, lv, n, d) for u, st, lv, n, d in tallies if u in below)
        counted = [(int(a or 0), int(b or 0), int(c or 0)) for u, a, b, c in tasks if u in below]
        figures = Figures(
            tasks_total=sum(t[0] for t in counted),
            tasks_done=sum(t[1] for t in counted),
            tasks_overdue=sum(t[2] for t in counted),
            found=counts.found,
            closed=counts.closed,
            open=counts.found - counts.closed,
            overdue=sum(late.get(u, 0) for u in below),
            major_open=counts.major_open,
        )
        rows.append(UnitFigures(unit_id, name, figures))
    rows.sort(key=lambda r: (-r.figures.overdue, -r.figures.open, r.unit_name))
    return rows


async def _tallies_by_unit(
    session: AsyncSession, campaign_id: int
) -> Sequence[Row[int, str, str, int, float]]:
    """One row per unit, status and level (campaign and kind fixed: the tally's own key)."""
    return (
        await session.execute(
            select(
                DangerTally.unit_id,
                DangerTally.status,
                DangerTally.level,
                DangerTally.n,
                DangerTally.closed_days,
            ).where(
                DangerTally.campaign_id == campaign_id,
                DangerTally.kind == RecordKind.HIDDEN_DANGER,
            )
        )
    ).all()


async def _overdue_by_unit(
    session: AsyncSession, campaign_id: int, within: set[int], today: date
) -> dict[int, int]:
    """How many hidden dangers are overdue in each unit of `within`."""
    return dict(
        (
            await session.execute(
                select(HiddenDanger.unit_id, func.count())
                .where(
                    # By unit: each unit's ranges of the covering (unit, status, deadline) index.
                    HiddenDanger.unit_id.in_(within),
                    overdue_condition(today),
                    HiddenDanger.kind == RecordKind.HIDDEN_DANGER,
                    HiddenDanger.campaign_id == campaign_id,
                )
                .group_by(HiddenDanger.unit_id)
            )
        ).all()
    )


async def _tasks_by_unit(
    session: AsyncSession, campaign_id: int, today: date
) -> Sequence[Row[int, int, int | None, int | None]]:
    """Each unit's tasks: how many, how many done, how many overdue."""
    return (
        await session.execute(
            select(
                Task.unit_id,
                func.count(),
                func.sum(case((Task.status == TaskStatus.DONE, 1), else_=0)),
                func.sum(case((task_overdue_condition(today), 1), else_=0)),
            )
            .where(Task.campaign_id == campaign_id)
            .group_by(Task.unit_id)
        )
    ).all()
