"""The open tasks a report is filed under, a page at a time, searched by code or title."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Task,
    TaskStatus,
)
from storage.report.draft import TaskChoice

TASKS_PER_PAGE = 6


@dataclass(frozen=True, slots=True)
class TaskPage:
    items: list[TaskChoice]
    page: int
    pages: int
    query: str
    total: int


# --- the task list ------------------------------------------------------------------------------


def _task_query(unit_ids: set[int], campaign_id: int, query: str) -> Select[Any]:
    stmt = select(Task).where(
        Task.campaign_id == campaign_id,
        Task.unit_id.in_(unit_ids),
        Task.status == TaskStatus.OPEN,
    )
    query = query.strip().lower()
    if query:
        # autoescape: a typed % or _ is a character to find, not a wildcard.
        stmt = stmt.where(
            or_(
                func.lower(Task.code).contains(query, autoescape=True),
                func.lower(Task.title).contains(query, autoescape=True),
            )
        )
    return stmt


async def task_page(
    session: AsyncSession, *, unit_ids: set[int], campaign_id: int, query: str = "", page: int = 0
) -> TaskPage:
    """Return one page of the open tasks of the units (a unit and its sub-units), latest due
    date first."""
    base = _task_query(unit_ids, campaign_id, query)
    total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-total // TASKS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    rows = await session.scalars(
        base.order_by(Task.due_date.desc(), Task.code)
        .offset(page * TASKS_PER_PAGE)
        .limit(TASKS_PER_PAGE)
    )
    items = [TaskChoice(t.id, t.code, t.title, t.due_date) for t in rows]
    return TaskPage(items, page, pages, query, total)
