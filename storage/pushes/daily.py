"""The day's pushes to people, listed once a day at the reminder time: each responsible
inspector's reminder, each supervisor's digest, the escalations to a unit's overdue groups.

storage/pushes/due.py decides when they are due and queues them with the groups' pushes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import PushAddress, push_address
from storage.dto import CampaignInfo
from storage.models import (
    Channel,
    DangerStatus,
    GroupChat,
    HiddenDanger,
    Role,
    Subscription,
    SubscriptionKind,
    User,
)
from storage.overdue import overdue_condition
from storage.push_payloads import PushKind, ReminderItem, ReminderPush
from storage.pushes.figure_payloads import DIGEST_ITEMS
from storage.pushes.outbox import outbox_key

REMIND_BEFORE = (3, 1)  # days before the deadline the responsible inspector is reminded


@dataclass(frozen=True, slots=True)
class DuePush:
    """A push that may be due: where it goes, and what it takes to compute its content."""

    kind: PushKind
    channel: Channel
    target: int | str
    period: str  # the day it is for, with a suffix when queued again on purpose
    expires_at: datetime
    unit_id: int | None = None  # whose figures or overdue list it carries (counted when queued)
    reminder: ReminderPush | None = None  # the content, when listing found it already

    @property
    def key(self) -> str:
        return outbox_key(self.kind, channel=self.channel, target=self.target, period=self.period)

    @property
    def day(self) -> date:
        return date.fromisoformat(self.period[:10])


async def people_pushes(
    session: AsyncSession,
    campaign: CampaignInfo,
    today: date,
    period: str,
    expires: datetime,
    scope: set[int] | None,
) -> list[DuePush]:
    """The day's pushes to people: inspectors' reminders, supervisors' digests, escalations."""
    return (
        await _reminders(session, campaign, today, period, expires, scope)
        + await _supervisor_digests(session, period, expires, scope)
        + await _escalations(session, period, expires, scope)
    )


def _waiting_on_inspectors(
    campaign: CampaignInfo, today: date
) -> Select[int, str, str, date, int, int]:
    """Hidden dangers an inspector must act on that are late or due in a few days, by deadline:
    id, number, site, deadline, unit, the person responsible."""
    return (
        select(
            HiddenDanger.id,
            HiddenDanger.number,
            HiddenDanger.site,
            HiddenDanger.deadline,
            HiddenDanger.unit_id,
            func.coalesce(HiddenDanger.responsible_id, HiddenDanger.reporter_id),
        )
        .where(
            HiddenDanger.campaign_id == campaign.id,
            # What waits on the inspector (a submitted one waits on its verifier) ...
            HiddenDanger.status.in_([DangerStatus.REPORTED, DangerStatus.RECTIFYING]),
            # ... and is overdue or due in a few days.
            or_(
                overdue_condition(today),
                HiddenDanger.deadline.in_([today + timedelta(days=d) for d in REMIND_BEFORE]),
            ),
        )
        .order_by(HiddenDanger.deadline, HiddenDanger.id)
    )


async def _reminders(
    session: AsyncSession,
    campaign: CampaignInfo,
    today: date,
    period: str,
    expires: datetime,
    scope: set[int] | None,
) -> list[DuePush]:
    """The responsible inspector's reminders of what is due soon or late, one a person."""
    pushes: list[DuePush] = []
    # The responsible inspector: one message a day listing what is due in 3 or 1 days or late.
    people = select(User.id, User.telegram_id, User.wecom_user_id).where(User.active.is_(True))
    active = {row.id: push_address(row) for row in await session.execute(people)}
    q = _waiting_on_inspectors(campaign, today)
    items: dict[PushAddress, list[ReminderItem]] = defaultdict(list)
    for danger_id, number, site, deadline, unit, person in (await session.execute(q)).all():
        address = active.get(person)
        if address is None or (scope is not None and unit not in scope):
            continue
        items[address].append(
            ReminderItem(
                danger_id=danger_id,
                number=number,
                site=site,
                deadline=deadline,
                days=(deadline - today).days,
            )
        )
    for address, listed in items.items():
        reminder = ReminderPush(
            items=tuple(listed[:DIGEST_ITEMS]),
            count=len(listed),
            danger_id=listed[0].danger_id if len(listed) == 1 else None,
        )
        pushes.append(
            DuePush(
                PushKind.REMINDER,
                address.channel,
                address.target,
                period,
                expires,
                reminder=reminder,
            )
        )
    return pushes


async def _supervisor_digests(
    session: AsyncSession, period: str, expires: datetime, scope: set[int] | None
) -> list[DuePush]:
    """A digest to each supervisor of what is overdue in their units."""
    pushes: list[DuePush] = []
    # The digest's figures are counted when it is queued.
    supervisors = await session.execute(
        select(User.telegram_id, User.wecom_user_id, User.unit_id).where(
            User.role == Role.SUPERVISOR, User.active.is_(True), User.unit_id.is_not(None)
        )
    )
    for supervisor in supervisors:
        if scope is not None and supervisor.unit_id not in scope:
            continue
        to = push_address(supervisor)
        pushes.append(
            DuePush(
                PushKind.DIGEST, to.channel, to.target, period, expires, unit_id=supervisor.unit_id
            )
        )
    return pushes


async def _escalations(
    session: AsyncSession, period: str, expires: datetime, scope: set[int] | None
) -> list[DuePush]:
    """Long-overdue hidden dangers below a unit, to its overdue groups."""
    pushes: list[DuePush] = []
    groups = await session.execute(
        select(GroupChat.chat_id, GroupChat.unit_id)
        .join(Subscription, Subscription.group_id == GroupChat.id)
        .where(
            GroupChat.active.is_(True),
            GroupChat.unit_id.is_not(None),
            Subscription.kind == SubscriptionKind.OVERDUE,
            Subscription.active.is_(True),
        )
    )
    for chat_id, unit_id in groups.all():
        if scope is not None and unit_id not in scope:
            continue
        pushes.append(
            DuePush(
                PushKind.ESCALATION, Channel.TELEGRAM, chat_id, period, expires, unit_id=unit_id
            )
        )
    return pushes
