"""The ledger ("one table and four lists") and the statistics, as rows streamed from the database.

Rows are plain tuples of values (dates as `date`, times as aware UTC `datetime`), produced a
few hundred at a time, so an export of a hundred thousand hidden dangers never holds them all.
A front writes them where it likes (a spreadsheet, JSON); the wording of headers is its job.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.accounts import Account
from storage.campaigns import require_campaign
from storage.clock import utcnow
from storage.dto import CampaignInfo
from storage.errors import N_, Invalid
from storage.figures import overdue_count, tally
from storage.models import (
    DangerLevel,
    DangerStatus,
    Field,
    HiddenDanger,
    Photo,
    PhotoStage,
    RecordKind,
    Rectification,
    Role,
    Task,
    Unit,
    User,
    Verdict,
)
from storage.overdue import campaign_day, days_overdue, overdue_condition
from storage.permissions import load_viewer
from storage.units import find_unit, single_root, unit_and_descendants, unit_tree

BATCH = 500


@dataclass(frozen=True, slots=True)
class LedgerScope:
    """Which units and which found-dates an export covers."""

    campaign: CampaignInfo
    unit_ids: set[int] | None
    unit_name: str | None
    date_from: date | None
    date_to: date | None
    today: date

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.campaign.timezone)

    def quarter(self) -> tuple[int, int] | None:
        """(year, quarter) when the scope is exactly one calendar quarter, else None."""
        if self.date_from is None or self.date_to is None:
            return None
        start = self.date_from
        if start.day != 1 or start.month not in (1, 4, 7, 10):
            return None
        end_month = start.month + 2
        next_start = date(start.year + (end_month == 12), end_month % 12 + 1, 1)
        if self.date_to != next_start - timedelta(days=1):
            return None
        return start.year, (start.month - 1) // 3 + 1


# Periods people ask about lie within these; beyond them the calendar arithmetic overflows.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


async def ledger_scope(
    session: AsyncSession,
    *,
    account: Account | None = None,
    unit: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    managers_only: bool = True,
    now: datetime | None = None,
) -> LedgerScope:
    """The scope of an export or statistics: a person's units, or a unit by name.

    The ledger is for supervisors and admins (`managers_only`); statistics any registered
    person may see for their own unit.
    """
    campaign = await require_campaign(session)
    for day in (date_from, date_to):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise Invalid(
                N_("Give dates between {first} and {last}."),
                first=FIRST_DAY.isoformat(),
                last=LAST_DAY.isoformat(),
            )
    if date_from and date_to and date_from > date_to:
        raise Invalid(N_("The start date is after the end date."))
    unit_ids: set[int] | None = None
    unit_name: str | None = None
    if account is not None:
        viewer = await load_viewer(session, account)
        if managers_only and viewer.role not in (Role.SUPERVISOR, Role.ADMIN):
            raise Invalid(N_("Only supervisors and administrators can export the ledger."))
        unit_ids = set(viewer.units) if viewer.units is not None else None
        if viewer.unit_id is not None:
            row = await session.get(Unit, viewer.unit_id)
            unit_name = row.name if row else None
    if unit is not None:
        found = await find_unit(session, unit)
        below = await unit_and_descendants(session, found.id)
        unit_ids = below if unit_ids is None else unit_ids & below
        unit_name = found.name
    today = campaign_day(campaign.timezone, now or utcnow())
    return LedgerScope(campaign, unit_ids, unit_name, date_from, date_to, today)


def _found_between(scope: LedgerScope, column: Any) -> list[Any]:
    """Conditions keeping rows found (created) within the scope's dates, in the campaign zone."""
    conditions = []
    if scope.date_from is not None:
        start = datetime.combine(scope.date_from, time(0), tzinfo=scope.tz).astimezone(UTC)
        conditions.append(column >= start)
    if scope.date_to is not None:
        end = datetime.combine(scope.date_to + timedelta(days=1), time(0), tzinfo=scope.tz)
        conditions.append(column < end.astimezone(UTC))
    return conditions


# --- the table: task progress -------------------------------------------------------------------


async def task_rows(
    session: AsyncSession, scope: LedgerScope, *, source: str | None = None
) -> AsyncIterator[tuple[Any, ...]]:
    """Task progress: code, title, source, field, unit, due date, status, found, closed,
    open, overdue."""
    counts = (
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
            *_found_between(scope, HiddenDanger.created_at),
            # A danger of another unit may sit on this unit's task: it is not this scope's.
            *([HiddenDanger.unit_id.in_(scope.unit_ids)] if scope.unit_ids is not None else []),
        )
        .group_by(HiddenDanger.task_id)
        .subquery()
    )
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


def _danger_select(scope: LedgerScope) -> Select[tuple[Any, ...]]:
    reporter = aliased(User)
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
        .where(*_found_between(scope, HiddenDanger.created_at))
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
    found = _found_between(scope, HiddenDanger.created_at)
    closed = _found_between(scope, HiddenDanger.closed_at)
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


# --- statistics ----------------------------------------------------------------------------------


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
        *_found_between(scope, HiddenDanger.created_at),
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
