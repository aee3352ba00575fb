"""Submitting a draft: its number, the hidden danger, possible duplicates, the group cards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.audit import record_event
from storage.conversation import (
    clean,
    set_data,
)
from storage.dto import CampaignInfo
from storage.errors import N_, Invalid
from storage.models import (
    Channel,
    DangerStatus,
    Draft,
    DraftStatus,
    GroupChat,
    HiddenDanger,
    NumberSequence,
    Photo,
    PhotoStage,
    PushTarget,
    RecordKind,
    Subscription,
    SubscriptionKind,
    Task,
    TaskStatus,
    User,
)
from storage.overdue import OPEN_STATUSES
from storage.push_payloads import ReportCardPush
from storage.pushes.outbox import enqueue
from storage.report.draft import DraftView, Step, draft_view
from storage.report.rules import ReportRules
from storage.units import unit_and_ancestors, unit_and_descendants


@dataclass(frozen=True, slots=True)
class Submitted:
    danger_id: int
    number: str


async def possible_duplicates(
    session: AsyncSession, unit_id: int, site: str, field_id: int
) -> list[str]:
    key = clean(site).lower()
    rows = await session.scalars(
        select(HiddenDanger.number)
        .where(
            HiddenDanger.unit_id == unit_id,
            HiddenDanger.field_id == field_id,
            # Three ranges of the (unit, status, deadline) index, not the unit's whole ledger.
            HiddenDanger.status.in_(OPEN_STATUSES),
            func.lower(HiddenDanger.site) == key,
        )
        .order_by(HiddenDanger.id.desc())
        .limit(3)
    )
    return list(rows)


async def _next_number(session: AsyncSession, prefix: str, year: int) -> str:
    """Hand out the next number of the year; numbers are never reused, even after a rollback."""
    name = f"{prefix}-{year}"
    if await session.get(NumberSequence, name) is None:
        try:
            async with session.begin_nested():
                session.add(NumberSequence(name=name, last=0))
        except IntegrityError:
            pass  # another process created it first
    result = await session.execute(
        update(NumberSequence)
        .where(NumberSequence.name == name)
        .values(last=NumberSequence.last + 1)
        .returning(NumberSequence.last)
    )
    return f"{name}-{result.scalar_one():06d}"


async def _require_complete(
    session: AsyncSession,
    draft: Draft,
    view: DraftView,
    user: User,
    campaign: CampaignInfo,
    now: datetime,
) -> None:
    """Refuse a draft that misses an answer or went stale, sending it back to that step."""
    missing = [
        name
        for name, value in (
            ("task", view.task),
            ("site", view.site),
            ("field", view.field),
            ("description", view.description),
            ("level", view.level),
            ("deadline", view.deadline),
        )
        if not value
    ]
    if draft.kind == RecordKind.HIDDEN_DANGER and not view.photos:
        missing.append("photos")
    if missing:
        draft.step = missing[0] if missing[0] in {s.value for s in Step} else Step.TASK.value
        set_data(draft, editing=True)
        raise Invalid(N_("Some answers are missing; please complete them first."))
    assert view.task and view.deadline and user.unit_id
    # A draft resumed days later: its deadline may have passed, its task closed or moved.
    today = now.astimezone(ZoneInfo(campaign.timezone)).date()
    if view.deadline < today:
        draft.step = Step.DEADLINE.value
        set_data(draft, editing=True)
        raise Invalid(
            N_("The deadline {date} has passed meanwhile; choose a new one."),
            date=view.deadline.isoformat(),
        )
    task = await session.get(Task, view.task.id)
    allowed = await unit_and_descendants(session, user.unit_id)
    if task is None or task.status != TaskStatus.OPEN or task.unit_id not in allowed:
        draft.step = Step.TASK.value
        set_data(draft, editing=True, task_id=None)
        raise Invalid(N_("That task is not open for your unit. Choose another."))


async def submit(
    session: AsyncSession,
    draft: Draft,
    user: User,
    account: Account,
    campaign: CampaignInfo,
    rules: ReportRules,
    now: datetime,
) -> Submitted:
    """Turn a complete draft into a numbered hidden danger, with its event and group cards."""
    view = await draft_view(session, draft)
    await _require_complete(session, draft, view, user, campaign, now)
    assert view.task and view.field and view.deadline and view.level and user.unit_id
    assert view.site and view.description
    year = now.astimezone(ZoneInfo(campaign.timezone)).year
    number = await _next_number(session, rules.number_prefix, year)
    danger = _new_danger(draft, view, user, campaign, number, now)
    session.add(danger)
    await session.flush()
    await session.execute(
        update(Photo)
        .where(Photo.draft_id == draft.id, Photo.stage == PhotoStage.BEFORE)
        .values(danger_id=danger.id, draft_id=None)
    )
    # Photos held for "add or start a new one" and never settled go with the draft.
    await session.execute(update(Photo).where(Photo.draft_id == draft.id).values(draft_id=None))
    draft.status = DraftStatus.SUBMITTED
    draft.danger_id = danger.id
    record_event(
        session,
        action="danger.reported",
        actor=account.actor,
        actor_id=user.id,
        danger_id=danger.id,
        subject=number,
        detail=_reported_detail(draft, view),
        now=now,
    )
    await _queue_report_cards(session, danger, now)
    return Submitted(danger.id, number)


def _new_danger(
    draft: Draft,
    view: DraftView,
    user: User,
    campaign: CampaignInfo,
    number: str,
    now: datetime,
) -> HiddenDanger:
    """The hidden danger a complete draft describes, reported and answered for by its reporter."""
    assert view.task and view.field and view.deadline and view.level and user.unit_id
    assert view.site and view.description
    return HiddenDanger(
        number=number,
        campaign_id=campaign.id,
        kind=draft.kind,
        level=view.level,
        task_id=view.task.id,
        unit_id=user.unit_id,
        site=view.site,
        field_id=view.field.id,
        description=view.description,
        latitude=view.latitude,
        longitude=view.longitude,
        address=view.address,
        deadline=view.deadline,
        status=DangerStatus.REPORTED,
        reporter_id=user.id,
        responsible_id=user.id,
        created_at=now,
        updated_at=now,
    )


def _reported_detail(draft: Draft, view: DraftView) -> dict[str, object]:
    """What the audit trail keeps of the report as it went in."""
    assert view.task and view.field and view.deadline
    return {
        "kind": draft.kind,
        "level": view.level,
        "task": view.task.code,
        "site": view.site,
        "field": view.field.code,
        "deadline": view.deadline.isoformat(),
        "photos": len(view.photos),
        "location_source": view.location_source,
        "location_far": view.location_far,
    }


async def _queue_report_cards(session: AsyncSession, danger: HiddenDanger, now: datetime) -> None:
    """Queue the new-report card for every group of the unit or a unit above it."""
    units = await unit_and_ancestors(session, danger.unit_id)
    rows = await session.execute(
        select(GroupChat.chat_id)
        .join(Subscription, Subscription.group_id == GroupChat.id)
        .where(
            GroupChat.unit_id.in_(units),
            GroupChat.active.is_(True),
            Subscription.kind == SubscriptionKind.REPORTS,
            Subscription.active.is_(True),
        )
    )
    card = ReportCardPush(danger_id=danger.id)
    for (chat_id,) in rows:
        enqueue(
            session, card, channel=Channel.TELEGRAM, target=chat_id, period=danger.number, now=now
        )
    # WeCom group robots that take the unit's reports get the same card, as markdown.
    robots = await session.execute(
        select(PushTarget.id, PushTarget.kinds).where(
            PushTarget.unit_id.in_(units), PushTarget.active.is_(True)
        )
    )
    for target_id, kinds in robots.all():
        if SubscriptionKind.REPORTS in kinds.split(","):
            enqueue(
                session,
                card,
                channel=Channel.WECOM,
                target=target_id,
                period=danger.number,
                now=now,
            )
