"""The figures a push shows, computed when it is queued: the countdown, the overdue lists."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.campaigns import require_campaign
from storage.clock import utcnow
from storage.dto import CampaignInfo
from storage.errors import N_, Invalid
from storage.figures import Figures, figures, ranking
from storage.models import (
    DangerLevel,
    GroupChat,
    HiddenDanger,
    RecordKind,
    Task,
    Unit,
)
from storage.overdue import overdue_condition, task_overdue_condition
from storage.people import user_row
from storage.push_payloads import (
    CountdownPush,
    FigureCounts,
    LateDanger,
    LateTask,
    OverdueList,
    RankedUnit,
)
from storage.units import single_root, unit_and_descendants

DIGEST_ITEMS = 30  # hidden dangers named in one digest; the rest are counted


def local_time(now: datetime, campaign: CampaignInfo) -> tuple[date, datetime]:
    """The campaign's day and local time at `now`."""
    tz = ZoneInfo(campaign.timezone)
    local = now.astimezone(tz)
    return local.date(), local


def _counts(f: Figures) -> FigureCounts:
    return FigureCounts(
        tasks_total=f.tasks_total,
        tasks_done=f.tasks_done,
        tasks_percent=f.tasks_percent,
        tasks_overdue=f.tasks_overdue,
        found=f.found,
        closed=f.closed,
        open=f.open,
        overdue=f.overdue,
        major_open=f.major_open,
        rate=f.rectification_rate,
    )


async def countdown_data(
    session: AsyncSession, *, campaign: CampaignInfo, unit_id: int | None, today: date
) -> CountdownPush:
    """The countdown's content for a unit (with its sub-units), or the whole campaign."""
    unit = await session.get(Unit, unit_id) if unit_id else None
    unit_ids = await unit_and_descendants(session, unit.id) if unit else None
    ranked: list[RankedUnit] = []
    if unit is None or unit.parent_id is None:
        # A city-wide group: rank the units below by what is overdue. Campaign-wide, below
        # the city when there is one city at the top.
        parent_id = unit.id if unit else None
        if unit is None:
            parent_id = await single_root(session)
        rows = await ranking(session, campaign_id=campaign.id, parent_id=parent_id, today=today)
        ranked = [
            RankedUnit(
                unit=r.unit_name,
                overdue=r.figures.overdue,
                open=r.figures.open,
                rate=r.figures.rectification_rate,
                tasks_percent=r.figures.tasks_percent,
                found=r.figures.found,
            )
            for r in rows
        ]
    return CountdownPush(
        campaign=campaign.name,
        closing=campaign.closing_date,
        today=today,
        days_left=(campaign.closing_date - today).days,
        unit=unit.name if unit else None,
        figures=_counts(
            await figures(session, campaign_id=campaign.id, unit_ids=unit_ids, today=today)
        ),
        ranking=tuple(ranked),
    )


async def overdue_data(
    session: AsyncSession,
    *,
    campaign: CampaignInfo,
    unit_ids: set[int] | None,
    today: date,
    min_days: tuple[int, int] | None = None,
) -> OverdueList:
    """Overdue hidden dangers and tasks of these units, the oldest first (counted in full,
    named up to DIGEST_ITEMS); `min_days` (general, major) keeps only the long-overdue."""
    late = _late_dangers(campaign.id, unit_ids, today, min_days)
    count = await session.scalar(select(func.count()).select_from(HiddenDanger).where(*late))
    rows = await session.execute(
        select(
            HiddenDanger.id,
            HiddenDanger.number,
            HiddenDanger.site,
            Unit.name,
            HiddenDanger.level,
            HiddenDanger.deadline,
        )
        .join(Unit, Unit.id == HiddenDanger.unit_id)
        .where(*late)
        .order_by(HiddenDanger.deadline, HiddenDanger.id)
        .limit(DIGEST_ITEMS)
    )
    task_count, tasks = await _late_tasks(
        session, campaign.id, unit_ids, today, min_days[0] if min_days else 0
    )
    return OverdueList(
        today=today,
        count=int(count or 0),
        dangers=tuple(
            LateDanger(id=i, number=n, site=site, unit=unit, level=lvl, days=(today - d).days)
            for i, n, site, unit, lvl, d in rows.all()
        ),
        task_count=task_count,
        tasks=tasks,
    )


def _late_dangers(
    campaign_id: int, unit_ids: set[int] | None, today: date, min_days: tuple[int, int] | None
) -> list[ColumnElement[bool]]:
    """The conditions of an overdue hidden danger of these units (overdue long enough)."""
    late = [
        HiddenDanger.campaign_id == campaign_id,
        HiddenDanger.kind == RecordKind.HIDDEN_DANGER,
        overdue_condition(today),
    ]
    if min_days is not None:
        # Overdue for more than n days: already overdue n days ago.
        general, major = min_days
        late.append(
            or_(
                and_(
                    HiddenDanger.level == DangerLevel.MAJOR,
                    overdue_condition(today - timedelta(days=major)),
                ),
                and_(
                    HiddenDanger.level != DangerLevel.MAJOR,
                    overdue_condition(today - timedelta(days=general)),
                ),
            )
        )
    if unit_ids is not None:
        late.append(HiddenDanger.unit_id.in_(unit_ids))
    return late


async def _late_tasks(
    session: AsyncSession, campaign_id: int, unit_ids: set[int] | None, today: date, days: int
) -> tuple[int, tuple[LateTask, ...]]:
    """How many tasks of these units are more than `days` overdue, and the oldest of them."""
    task_late = [
        Task.campaign_id == campaign_id,
        task_overdue_condition(today - timedelta(days=days)),
    ]
    if unit_ids is not None:
        task_late.append(Task.unit_id.in_(unit_ids))
    task_count = await session.scalar(select(func.count()).select_from(Task).where(*task_late))
    task_rows = await session.execute(
        select(Task.code, Task.title, Unit.name, Task.due_date)
        .join(Unit, Unit.id == Task.unit_id)
        .where(*task_late)
        .order_by(Task.due_date, Task.code)
        .limit(DIGEST_ITEMS)
    )
    tasks = tuple(
        LateTask(code=c, title=t, unit=u, days=(today - d).days) for c, t, u, d in task_rows.all()
    )
    return int(task_count or 0), tasks


async def countdown_now(
    session: AsyncSession,
    *,
    chat_id: int,
    account: Account,
    private: bool,
    now: datetime | None = None,
) -> CountdownPush:
    """The countdown on demand: a group's unit, or in private the person's own unit."""
    campaign = await require_campaign(session)
    today, _ = local_time(now or utcnow(), campaign)
    if private:
        user = await user_row(session, account, active_only=True)
        if user is None:
            raise Invalid(
                N_(
                    "You are not registered yet. Open the invite link your unit's "
                    "administrator gave you, or send /help."
                )
            )
        unit_id = user.unit_id
    else:
        group = (
            await session.scalars(select(GroupChat).where(GroupChat.chat_id == chat_id))
        ).first()
        if group is None or group.unit_id is None:
            raise Invalid(N_("Bind this group to a unit first: /bind UNIT."))
        unit_id = group.unit_id
    return await countdown_data(session, campaign=campaign, unit_id=unit_id, today=today)
