"""Scheduled pushes: what is due when, written to the outbox once under a unique key.

A tick (every minute in the bot, or `hdbot push now`) asks `enqueue_due`; every push it finds
due is written with the key (channel:target:kind:day), so however many ticks, restarts or bot
processes ask, each message is queued once. A push is due from its time of day until the
catch-up window closes: a bot down at 09:00 and back at 09:20 still sends the 09:00 countdown,
and a day missed entirely is not sent late. The figures are computed when queued and stored in
the row; the sender only words them.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account, PushAddress, push_address
from storage.audit import record_event
from storage.campaigns import require_campaign
from storage.clock import utcnow
from storage.dto import CampaignInfo
from storage.errors import N_, Invalid, NotFound
from storage.figures import Figures, figures, ranking
from storage.groups import DEFAULT_TIMES, parse_time
from storage.meta import get_setting, remember_setting
from storage.models import (
    Channel,
    DangerLevel,
    DangerStatus,
    GroupChat,
    HiddenDanger,
    Outbox,
    OutboxStatus,
    PushTarget,
    RecordKind,
    Role,
    Subscription,
    SubscriptionKind,
    Task,
    Unit,
    User,
)
from storage.outbox import enqueue, outbox_key
from storage.overdue import overdue_condition, task_overdue_condition
from storage.people import user_row
from storage.push_payloads import (
    CountdownPush,
    DigestPush,
    EscalationPush,
    FigureCounts,
    LateDanger,
    LateTask,
    OverdueList,
    OverduePush,
    Payload,
    PushKind,
    RankedUnit,
    ReminderItem,
    ReminderPush,
)
from storage.units import find_unit, single_root, unit_and_descendants

DIGEST_ITEMS = 30  # hidden dangers named in one digest; the rest are counted
COMMIT_EVERY = 20  # pushes queued in one transaction
YIELD_SECONDS = 0.05  # pause between those transactions, for writers waiting on SQLite
REMIND_BEFORE = (3, 1)  # days before the deadline the responsible inspector is reminded


@dataclass(frozen=True, slots=True)
class PushRules:
    """When and how hard to push; read from settings."""

    catch_up: timedelta = timedelta(hours=2)
    reminder_time: str = "09:00"
    escalate_after_days: int = 7
    escalate_after_days_major: int = 3


@dataclass(frozen=True, slots=True)
class Queued:
    """How many pushes one call queued, by kind."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class _Push:
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


# --- the figures as a payload ---------------------------------------------------------------------


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
    late = [
        HiddenDanger.campaign_id == campaign.id,
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
    dangers = tuple(
        LateDanger(id=i, number=n, site=site, unit=unit, level=lvl, days=(today - d).days)
        for i, n, site, unit, lvl, d in rows.all()
    )
    task_late = [
        Task.campaign_id == campaign.id,
        task_overdue_condition(today - timedelta(days=min_days[0] if min_days else 0)),
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
    return OverdueList(
        today=today,
        count=int(count or 0),
        dangers=dangers,
        task_count=int(task_count or 0),
        tasks=tuple(
            LateTask(code=c, title=t, unit=u, days=(today - d).days)
            for c, t, u, d in task_rows.all()
        ),
    )


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
    today, _ = _local(now or utcnow(), campaign)
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


# --- deciding what is due -------------------------------------------------------------------------


def _local(now: datetime, campaign: CampaignInfo) -> tuple[date, datetime]:
    tz = ZoneInfo(campaign.timezone)
    local = now.astimezone(tz)
    return local.date(), local


def _due_window(at: str, local_now: datetime, catch_up: timedelta) -> datetime | None:
    """The scheduled moment whose catch-up window holds now (today's, or yesterday's late one
    when the window crosses midnight), or None."""
    hour, minute = (int(x) for x in at.split(":"))
    for day in (local_now.date(), local_now.date() - timedelta(days=1)):
        scheduled = datetime.combine(day, time(hour, minute), tzinfo=local_now.tzinfo)
        if scheduled <= local_now < scheduled + catch_up:
            return scheduled
    return None


async def enqueue_due(
    session: AsyncSession,
    *,
    now: datetime | None = None,
    rules: PushRules | None = None,
    force: str | None = None,
    unit: str | None = None,
    again: bool = False,
) -> Queued:
    """Queue every scheduled push due now (or, with `force`, that kind now, whatever the hour).

    `force` is "countdown" or "reminders"; `unit` limits to that unit and the units below it;
    `again` queues what was already sent today once more.
    """
    now = now or utcnow()
    rules = rules or PushRules()
    campaign = await require_campaign(session)
    today, local_now = _local(now, campaign)
    scope = (
        await unit_and_descendants(session, (await find_unit(session, unit)).id) if unit else None
    )
    suffix = f"#{int(now.timestamp())}" if again else ""
    end_of_today = datetime.combine(today + timedelta(days=1), time(0), tzinfo=local_now.tzinfo)

    def due(at: str, kind: str) -> tuple[str, datetime] | None:
        """(period, expiry) when this push is due now, else None."""
        if force is not None:
            if kind == force or (force == "reminders" and kind == PushKind.OVERDUE):
                return today.isoformat() + suffix, end_of_today
            return None
        scheduled = _due_window(at, local_now, rules.catch_up)
        if scheduled is None:
            return None
        return scheduled.date().isoformat(), scheduled + rules.catch_up

    pushes: list[_Push] = []
    counts: dict[str, int] = defaultdict(int)

    # Telegram groups, by their subscriptions.
    rows = (
        await session.execute(
            select(Subscription, GroupChat)
            .join(GroupChat, GroupChat.id == Subscription.group_id)
            .where(
                Subscription.active.is_(True),
                GroupChat.active.is_(True),
                GroupChat.unit_id.is_not(None),
                Subscription.kind.in_([SubscriptionKind.COUNTDOWN, SubscriptionKind.OVERDUE]),
            )
        )
    ).all()
    for sub, group in rows:
        at = sub.at_time or DEFAULT_TIMES[SubscriptionKind(sub.kind)]
        if scope is not None and group.unit_id not in scope:
            continue
        if when := due(at, sub.kind):
            period, expires = when
            pushes.append(
                _Push(
                    PushKind(sub.kind),
                    Channel.TELEGRAM,
                    group.chat_id,
                    period,
                    expires,
                    unit_id=group.unit_id,
                )
            )
    # WeCom group robots.
    for target in await session.scalars(select(PushTarget).where(PushTarget.active.is_(True))):
        if scope is not None and target.unit_id not in scope:
            continue
        for kind in target.kinds.split(","):
            if kind not in (SubscriptionKind.COUNTDOWN, SubscriptionKind.OVERDUE):
                continue
            if when := due(target.at_time, kind):
                period, expires = when
                pushes.append(
                    _Push(
                        PushKind(kind),
                        Channel.WECOM,
                        target.id,
                        period,
                        expires,
                        unit_id=target.unit_id,
                    )
                )
    # Reminders, digests and escalations, once a day at the reminder time.
    marker = None
    if when := due(rules.reminder_time, "reminders"):
        period, expires = when
        # The people's pushes of a day are listed once: the ticks of the catch-up window after
        # that find the day's marker and skip the listing (thousands of open records).
        marker = f"reminders_queued:{period}" if force is None and scope is None else None
        if marker is None or await get_setting(session, marker) is None:
            day = date.fromisoformat(period[:10])
            pushes += await _people_pushes(session, campaign, day, period, expires, scope, rules)
        else:
            marker = None

    fresh = await _new_keys(session, [p.key for p in pushes])
    await session.commit()
    written = 0
    counted: dict[tuple[PushKind, int | None, date], Payload | None] = {}
    for push in pushes:
        if push.key not in fresh:
            continue
        if push.reminder is not None:
            payload: Payload | None = push.reminder
        else:
            # The figures are counted only for pushes not queued yet (a tick that finds
            # everything queued costs one query), and once per unit and kind (many groups
            # share a unit).
            same = (push.kind, push.unit_id, push.day)
            if same not in counted:
                counted[same] = await _payload(session, campaign, push, rules)
            payload = counted[same]
        if payload is None:
            continue
        if await _insert(session, push, payload, now):
            counts[push.kind.value] += 1
            written += 1
            if written % COMMIT_EVERY == 0:
                # Short transactions: on SQLite a fan-out of a thousand must not hold the
                # write lock (and the answers to people) while it is counted. The pause lets
                # a writer waiting on the lock in (SQLite's busy handler polls; without it
                # this loop would take the lock back each time).
                await session.commit()
                await asyncio.sleep(YIELD_SECONDS)
    await session.commit()
    if marker is not None:
        await remember_setting(session, key=marker, value=now.isoformat())
    return Queued(dict(counts))


async def _payload(
    session: AsyncSession, campaign: CampaignInfo, push: _Push, rules: PushRules
) -> Payload | None:
    """The content of a push about to be queued, counted now (and only now)."""
    if push.kind == PushKind.COUNTDOWN:
        return await countdown_data(
            session, campaign=campaign, unit_id=push.unit_id, today=push.day
        )
    if push.unit_id is None:
        return None  # an overdue list is always of a unit
    unit = await session.get(Unit, push.unit_id)
    below = await unit_and_descendants(session, push.unit_id)
    escalation = push.kind == PushKind.ESCALATION
    if escalation:
        below -= {push.unit_id}  # what is late below the unit, not in it
    late = await overdue_data(
        session,
        campaign=campaign,
        unit_ids=below,
        today=push.day,
        min_days=(rules.escalate_after_days, rules.escalate_after_days_major)
        if escalation
        else None,
    )
    if push.kind != PushKind.OVERDUE and not late.count and not late.task_count:
        return None  # nothing late: no digest, no escalation
    named = replace(late, unit=unit.name if unit else "")
    if escalation:
        return EscalationPush(
            **_list_fields(named),
            general_days=rules.escalate_after_days,
            major_days=rules.escalate_after_days_major,
        )
    return (OverduePush if push.kind == PushKind.OVERDUE else DigestPush)(**_list_fields(named))


def _list_fields(late: OverdueList) -> dict[str, Any]:
    """An overdue list's fields, to carry it as one kind of push."""
    return {f.name: getattr(late, f.name) for f in fields(late)}


async def _people_pushes(
    session: AsyncSession,
    campaign: CampaignInfo,
    today: date,
    period: str,
    expires: datetime,
    scope: set[int] | None,
    rules: PushRules,
) -> list[_Push]:
    pushes: list[_Push] = []
    # The responsible inspector: one message a day listing what is due in 3 or 1 days or late.
    people = select(User.id, User.telegram_id, User.wecom_user_id).where(User.active.is_(True))
    active = {row.id: push_address(row) for row in await session.execute(people)}
    q = (
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
            _Push(
                PushKind.REMINDER,
                address.channel,
                address.target,
                period,
                expires,
                reminder=reminder,
            )
        )
    # Each supervisor: a digest of what is overdue in their units (counted when queued).
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
            _Push(
                PushKind.DIGEST, to.channel, to.target, period, expires, unit_id=supervisor.unit_id
            )
        )
    # Escalation: long-overdue hidden dangers below a unit go to its overdue groups.
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
            _Push(PushKind.ESCALATION, Channel.TELEGRAM, chat_id, period, expires, unit_id=unit_id)
        )
    return pushes


async def _new_keys(session: AsyncSession, keys: list[str]) -> set[str]:
    """Which of these keys are not in the outbox yet (checked in chunks)."""
    fresh = set(keys)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        fresh -= set(await session.scalars(select(Outbox.key).where(Outbox.key.in_(chunk))))
    return fresh


async def _insert(session: AsyncSession, push: _Push, payload: Payload, now: datetime) -> bool:
    """Insert one row; False when another process queued the same key first."""
    try:
        async with session.begin_nested():
            enqueue(
                session,
                payload,
                channel=push.channel,
                target=push.target,
                period=push.period,
                expires_at=push.expires_at,
                now=now,
            )
    except IntegrityError:
        return False
    return True


# --- WeCom targets and the operator's view ------------------------------------------------------

# What a group robot can be sent: the daily pushes, and each new report's card as it comes.
WECOM_ROBOT_KINDS = (SubscriptionKind.COUNTDOWN, SubscriptionKind.OVERDUE, SubscriptionKind.REPORTS)


async def add_wecom_target(
    session: AsyncSession,
    *,
    unit: str,
    key: str,
    kinds: str = "countdown,overdue",
    at_time: str = "09:00",
    name: str = "",
) -> int:
    """Register a WeCom group robot (by its webhook key) to receive a unit's pushes."""
    key = key.strip()
    if not key or len(key) > 200 or not all(c.isalnum() or c in "-_" for c in key):
        raise Invalid(N_("A WeCom robot key is the key=… part of its webhook address."))
    wanted = [k.strip() for k in kinds.split(",") if k.strip()]
    if not wanted or any(k not in WECOM_ROBOT_KINDS for k in wanted):
        raise Invalid(N_("WeCom robots can receive countdown, overdue and reports."))
    when = parse_time(at_time) or "09:00"
    target_unit = await find_unit(session, unit)
    existing = (await session.scalars(select(PushTarget).where(PushTarget.key == key))).first()
    if existing is None:
        existing = PushTarget(channel=Channel.WECOM, unit_id=target_unit.id, key=key)
        session.add(existing)
    existing.unit_id, existing.kinds, existing.at_time = target_unit.id, ",".join(wanted), when
    existing.active, existing.name = True, name[:100]
    await session.flush()
    target_id = existing.id
    await session.commit()
    return target_id


@dataclass(frozen=True, slots=True)
class TargetInfo:
    id: int
    unit: str
    name: str
    kinds: str
    at_time: str
    active: bool
    key_hint: str  # the key's last characters only: the key itself is a secret
    last_error: str | None


async def list_targets(session: AsyncSession) -> list[TargetInfo]:
    """Every WeCom robot, on or off."""
    rows = await session.execute(
        select(PushTarget, Unit.name)
        .join(Unit, Unit.id == PushTarget.unit_id)
        .order_by(PushTarget.id)
    )
    return [
        TargetInfo(t.id, unit, t.name, t.kinds, t.at_time, t.active, "…" + t.key[-4:], t.last_error)
        for t, unit in rows.all()
    ]


async def remove_target(session: AsyncSession, *, target_id: int, actor: str = "cli") -> bool:
    """Switch a WeCom robot off (its history stays in the outbox); True when it was on."""
    row = await session.get(PushTarget, target_id)
    if row is None:
        raise NotFound(N_("No push target {id}."), id=target_id)
    if not row.active:
        return False
    row.active = False
    record_event(session, action="push_target.removed", actor=actor, subject=str(target_id))
    await session.commit()
    return True


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    counts: dict[tuple[str, str], int]  # (kind, status) → rows
    recent_failures: list[tuple[str, str, int, str]]  # key, kind, attempts, last error
    waiting: list[tuple[str, str, int, str, datetime]]  # queued with an error: retrying


async def outbox_summary(session: AsyncSession, *, limit: int = 20) -> OutboxSummary:
    """What the outbox holds: counts by kind and status, and the latest failures."""
    counts = {
        (kind, status): int(n)
        for kind, status, n in (
            await session.execute(
                select(Outbox.kind, Outbox.status, func.count()).group_by(
                    Outbox.kind, Outbox.status
                )
            )
        ).all()
    }
    failed = (
        await session.execute(
            select(Outbox.key, Outbox.kind, Outbox.attempts, Outbox.last_error)
            .where(Outbox.status == OutboxStatus.FAILED)
            .order_by(Outbox.id.desc())
            .limit(limit)
        )
    ).all()
    waiting = (
        await session.execute(
            select(Outbox.key, Outbox.kind, Outbox.attempts, Outbox.last_error, Outbox.not_before)
            .where(Outbox.status == OutboxStatus.QUEUED, Outbox.last_error.is_not(None))
            .order_by(Outbox.not_before)
            .limit(limit)
        )
    ).all()
    return OutboxSummary(
        counts,
        [(k, kind, a, e or "") for k, kind, a, e in failed],
        [(k, kind, a, e or "", nb) for k, kind, a, e, nb in waiting],
    )
