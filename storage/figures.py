"""The campaign's figures: tasks done, hidden dangers found, closed, open and overdue, by unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DangerStatus, HiddenDanger, RecordKind, Task, TaskStatus, Unit
from storage.units import unit_and_descendants


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


async def figures(
    session: AsyncSession, *, campaign_id: int, unit_ids: set[int] | None, today: date
) -> Figures:
    """Count tasks and hidden dangers of these units (None: all), as of `today`."""
    not_closed = HiddenDanger.status != DangerStatus.CLOSED
    danger_q = select(
        func.count(),
        func.sum(case((HiddenDanger.status == DangerStatus.CLOSED, 1), else_=0)),
        func.sum(case((not_closed & (HiddenDanger.deadline < today), 1), else_=0)),
        func.sum(case((not_closed & (HiddenDanger.level == "major"), 1), else_=0)),
    ).where(
        HiddenDanger.campaign_id == campaign_id,
        # The figures are of hidden dangers; problems and risks are lists of their own.
        HiddenDanger.kind == RecordKind.HIDDEN_DANGER,
    )
    task_q = select(
        func.count(),
        func.sum(case((Task.status == TaskStatus.DONE, 1), else_=0)),
        func.sum(case(((Task.status != TaskStatus.DONE) & (Task.due_date < today), 1), else_=0)),
    ).where(Task.campaign_id == campaign_id)
    if unit_ids is not None:
        danger_q = danger_q.where(HiddenDanger.unit_id.in_(unit_ids))
        task_q = task_q.where(Task.unit_id.in_(unit_ids))
    found, closed, overdue, major_open = (await session.execute(danger_q)).one()
    tasks_total, tasks_done, tasks_overdue = (await session.execute(task_q)).one()
    found, closed = int(found or 0), int(closed or 0)
    return Figures(
        tasks_total=int(tasks_total or 0),
        tasks_done=int(tasks_done or 0),
        tasks_overdue=int(tasks_overdue or 0),
        found=found,
        closed=closed,
        open=found - closed,
        overdue=int(overdue or 0),
        major_open=int(major_open or 0),
    )


async def ranking(
    session: AsyncSession, *, campaign_id: int, parent_id: int | None, today: date
) -> list[UnitFigures]:
    """The units directly below `parent_id` (None: the top units), most overdue first."""
    children = list(
        await session.scalars(select(Unit).where(Unit.parent_id == parent_id).order_by(Unit.name))
    )
    rows = []
    for unit in children:
        below = await unit_and_descendants(session, unit.id)
        rows.append(
            UnitFigures(
                unit.id,
                unit.name,
                await figures(session, campaign_id=campaign_id, unit_ids=below, today=today),
            )
        )
    rows.sort(key=lambda r: (-r.figures.overdue, -r.figures.open, r.unit_name))
    return rows
