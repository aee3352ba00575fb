"""The ledger ("one table and four lists") as rows streamed from the database.

Rows are plain tuples of values (dates as `date`, times as aware UTC `datetime`), produced a
few hundred at a time, so an export of a hundred thousand hidden dangers never holds them all.
A front writes them where it likes (a spreadsheet, JSON); the wording of headers is its job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Subquery

from storage.ledger.scope import LedgerScope, found_between
from storage.models import (
    DangerLevel,
    DangerStatus,
    Field,
    HiddenDanger,
    Photo,
    PhotoStage,
    RecordKind,
    Rectification,
    Task,
    Unit,
    User,
    Verdict,
)
from storage.overdue import days_overdue, overdue_condition

# Rows come from the database this many at a time: an export never holds them all.
BATCH = 500


# --- the table: task progress -------------------------------------------------------------------


def _task_counts(scope: LedgerScope) -> Subquery:
    """Per task: the scope's hidden dangers found on it, closed, and overdue."""
    return (
        select(
            HiddenDanger.task_id.label("task_id"),
            func.count().label("found"),
            func.sum(case((HiddenDanger.status == DangerStatus.CLOSED, 1), else_=0)).label(
                "closed"
            ),
            func.sum(case((overdue_condition(scope.today), 1), else_=0)).label("overdue"),
        )
        .where(
            HiddenDanger.campaign_id == scope.campaign.id,
            HiddenDanger.kind == RecordKind.HIDDEN_DANGER,
            *found_between(scope, HiddenDanger.created_at),
            # A danger of another unit may sit on this unit's task: it is not this scope's.
            *([HiddenDanger.unit_id.in_(scope.unit_ids)] if scope.unit_ids is not None else []),
        )
        .group_by(HiddenDanger.task_id)
        .subquery()
    )


async def task_rows(
    session: AsyncSession, scope: LedgerScope, *, source: str | None = None
) -> AsyncIterator[tuple[Any, ...]]:
    """Task progress: code, title, source, field, unit, due date, status, found, closed,
    open, overdue."""
    counts = _task_counts(scope)
    stmt = (
        select(
            Task.code,
            Task.title,
            Task.source,
            Field.code,
            Unit.name,
            Task.due_date,
            Task.status,
            func.coalesce(counts.c.found, 0),
            func.coalesce(counts.c.closed, 0),
            func.coalesce(counts.c.overdue, 0),
        )
        .join(Field, Field.id == Task.field_id)
        .join(Unit, Unit.id == Task.unit_id)
        .outerjoin(counts, counts.c.task_id == Task.id)
        .where(Task.campaign_id == scope.campaign.id)
        .order_by(Task.code)
    )
    if scope.unit_ids is not None:
        stmt = stmt.where(Task.unit_id.in_(scope.unit_ids))
    if source is not None:
        stmt = stmt.where(Task.source == source)
    async for row in await session.stream(stmt.execution_options(yield_per=BATCH)):
        code, title, src, field_code, unit, due, status, found, closed, overdue = row
        yield (
            code,
            title,
            src,
            field_code,
            unit,
            due,
            status,
            int(found),
            int(closed),
            int(found) - int(closed),
            int(overdue),
        )


# --- the lists and the ledger --------------------------------------------------------------------


def _per_danger_columns() -> tuple[Any, Any, Any, Any]:
    """Correlated columns of a danger's photos and rectifications: photos before, last
    rectified, who approved it, its measures."""
    verifier = aliased(User)
    photos = (
        select(func.count())
        .where(Photo.danger_id == HiddenDanger.id, Photo.stage == PhotoStage.BEFORE)
        .correlate(HiddenDanger)
        .scalar_subquery()
    )
    rectified = (
        select(func.max(Rectification.submitted_at))
        .where(Rectification.danger_id == HiddenDanger.id)
        .correlate(HiddenDanger)
        .scalar_subquery()
    )
    approved = (
        select(verifier.name)
        .join(Rectification, Rectification.verified_by_id == verifier.id)
        .where(
            Rectification.danger_id == HiddenDanger.id,
            Rectification.verdict == Verdict.APPROVED,
        )
        .order_by(Rectification.id.desc())
        .limit(1)
        .correlate(HiddenDanger)
        .scalar_subquery()
    )
    measures = (
        select(Rectification.measures)
        .where(Rectification.danger_id == HiddenDanger.id)
        .order_by(Rectification.id.desc())
        .limit(1)
        .correlate(HiddenDanger)
        .scalar_subquery()
    )
    return photos, rectified, approved, measures


def _danger_select(scope: LedgerScope) -> Select[tuple[Any, ...]]:
    reporter = aliased(User)
    photos, rectified, approved, measures = _per_danger_columns()
    stmt: Select[tuple[Any, ...]] = (
        select(  # type: ignore[assignment]
            HiddenDanger.number,
            HiddenDanger.created_at,
            Unit.name,
            HiddenDanger.site,
            Field.code,
            Task.code,
            HiddenDanger.level,
            HiddenDanger.description,
            HiddenDanger.address,
            HiddenDanger.latitude,
            HiddenDanger.longitude,
            reporter.name,
            HiddenDanger.deadline,
            HiddenDanger.status,
            rectified,
            approved,
            HiddenDanger.closed_at,
            photos,
            HiddenDanger.kind,
            measures,
        )
        .join(Unit, Unit.id == HiddenDanger.unit_id)
        .join(Field, Field.id == HiddenDanger.field_id)
        .outerjoin(Task, Task.id == HiddenDanger.task_id)
        .join(reporter, reporter.id == HiddenDanger.reporter_id)
        .where(HiddenDanger.campaign_id == scope.campaign.id)
        .where(*found_between(scope, HiddenDanger.created_at))
        .order_by(HiddenDanger.created_at, HiddenDanger.id)
    )
    if scope.unit_ids is not None:
        stmt = stmt.where(HiddenDanger.unit_id.in_(scope.unit_ids))
    return stmt


@dataclass(frozen=True, slots=True)
class DangerRow:
    """One hidden danger (or problem, or risk) as the ledger shows it."""

    number: str
    found_at: datetime
    unit: str
    site: str
    field: str
    task: str | None
    level: str
    description: str
    location: str
    reporter: str
    deadline: date
    status: str
    rectified_at: datetime | None
    verified_by: str | None
    closed_at: datetime | None
    days_overdue: int
    photos: int
    kind: str
    measures: dict[str, str]


async def danger_rows(
    session: AsyncSession,
    scope: LedgerScope,
    *,
    kind: str | None = None,
    level: str | None = None,
) -> AsyncIterator[DangerRow]:
    """Every hidden danger (or only one kind or level) in the scope, oldest first."""
    stmt = _danger_select(scope)
    if kind is not None:
        stmt = stmt.where(HiddenDanger.kind == kind)
    if level is not None:
        stmt = stmt.where(HiddenDanger.level == level)
    async for row in await session.stream(stmt.execution_options(yield_per=BATCH)):
        (
            number,
            found_at,
            unit,
            site,
            field_code,
            task_code,
            lvl,
            description,
            address,
            lat,
            lon,
            reporter,
            deadline,
            status,
            rectified,
            approved,
            closed_at,
            photos,
            record_kind,
            measures,
        ) = row
        location = " ".join(
            p for p in (address or "", f"{lat:.5f},{lon:.5f}" if lat is not None else "") if p
        )
        yield DangerRow(
            number=number,
            found_at=_aware(found_at),
            unit=unit,
            site=site,
            field=field_code,
            task=task_code,
            level=lvl,
            description=description,
            location=location,
            reporter=reporter,
            deadline=deadline,
            status=status,
            rectified_at=_aware(rectified) if rectified else None,
            verified_by=approved,
            closed_at=_aware(closed_at) if closed_at else None,
            days_overdue=days_overdue(status=status, deadline=deadline, today=scope.today),
            photos=int(photos or 0),
            kind=record_kind,
            measures={k: str(v) for k, v in (measures or {}).items()},
        )


def _aware(value: datetime | str) -> datetime:
    # Aggregates (max) skip the column's type on SQLite and come back as text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- the quarter's statistics -------------------------------------------------------------------


async def quarter_rows(session: AsyncSession, scope: LedgerScope) -> list[tuple[Any, ...]]:
    """Per unit: general and major hidden dangers found and rectified (closed) in the scope."""
    found = found_between(scope, HiddenDanger.created_at)
    closed = found_between(scope, HiddenDanger.closed_at)
    is_major = HiddenDanger.level == DangerLevel.MAJOR
    is_general = HiddenDanger.level == DangerLevel.GENERAL

    def count(*conditions: Any) -> Any:
        return func.sum(case((and_(*conditions), 1), else_=0))

    stmt = (
        select(
            Unit.name,
            count(is_general, *found),
            count(is_general, HiddenDanger.status == DangerStatus.CLOSED, *closed),
            count(is_major, *found),
            count(is_major, HiddenDanger.status == DangerStatus.CLOSED, *closed),
        )
        .join(Unit, Unit.id == HiddenDanger.unit_id)
        .where(
            HiddenDanger.campaign_id == scope.campaign.id,
            HiddenDanger.kind == RecordKind.HIDDEN_DANGER,
        )
        .group_by(Unit.name)
        .order_by(Unit.name)
    )
    if scope.unit_ids is not None:
        stmt = stmt.where(HiddenDanger.unit_id.in_(scope.unit_ids))
    return [
        (name, int(a or 0), int(b or 0), int(c or 0), int(d or 0))
        for name, a, b, c, d in (await session.execute(stmt)).all()
    ]
