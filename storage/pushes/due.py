"""Scheduled pushes: what is due when, written to the outbox once under a unique key.

A tick (every minute in the bot, or `hdbot push now`) asks `enqueue_due`; every push it finds
due is written with the key (channel:target:kind:day), so however many ticks, restarts or bot
processes ask, each message is queued once. A push is due from its time of day until the
catch-up window closes: a bot down at 09:00 and back at 09:20 still sends the 09:00 countdown,
and a day missed entirely is not sent late. The figures are computed when queued and stored in
the row; the sender only words them.
"""

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.campaigns import require_campaign
from storage.clock import utcnow
from storage.dto import CampaignInfo
from storage.groups import DEFAULT_TIMES
from storage.meta import get_setting, remember_setting
from storage.models import (
    Channel,
    GroupChat,
    Outbox,
    PushTarget,
    Subscription,
    SubscriptionKind,
    Unit,
)
from storage.push_payloads import (
    DigestPush,
    EscalationPush,
    OverdueList,
    OverduePush,
    Payload,
    PushKind,
)
from storage.pushes.daily import DuePush, people_pushes
from storage.pushes.figure_payloads import countdown_data, local_time, overdue_data
from storage.pushes.outbox import enqueue
from storage.units import find_unit, unit_and_descendants

COMMIT_EVERY = 20  # pushes queued in one transaction
YIELD_SECONDS = 0.05  # pause between those transactions, for writers waiting on SQLite


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
    today, local_now = local_time(now, campaign)
    scope = (
        await unit_and_descendants(session, (await find_unit(session, unit)).id) if unit else None
    )
    due = _Due(today, local_now, rules.catch_up, force, f"#{int(now.timestamp())}" if again else "")
    pushes = await _group_pushes(session, due, scope) + await _robot_pushes(session, due, scope)
    # Reminders, digests and escalations, once a day at the reminder time.
    marker = None
    if when := due(rules.reminder_time, "reminders"):
        period, expires = when
        # The people's pushes of a day are listed once: the ticks of the catch-up window after
        # that find the day's marker and skip the listing (thousands of open records).
        marker = f"reminders_queued:{period}" if force is None and scope is None else None
        if marker is None or await get_setting(session, marker) is None:
            day = date.fromisoformat(period[:10])
            pushes += await people_pushes(session, campaign, day, period, expires, scope)
        else:
            marker = None
    counts = await _queue(session, campaign, pushes, rules, now)
    if marker is not None:
        await remember_setting(session, key=marker, value=now.isoformat())
    return Queued(counts)


@dataclass(frozen=True, slots=True)
class _Due:
    """When a push is due: at its time of day within the catch-up window, or now when forced."""

    today: date
    local_now: datetime
    catch_up: timedelta
    force: str | None
    suffix: str  # makes a forced push's period new, to queue what was sent today again

    def __call__(self, at: str, kind: str) -> tuple[str, datetime] | None:
        """(period, expiry) when this push is due now, else None."""
        if self.force is not None:
            if kind == self.force or (self.force == "reminders" and kind == PushKind.OVERDUE):
                end_of_today = datetime.combine(
                    self.today + timedelta(days=1), time(0), tzinfo=self.local_now.tzinfo
                )
                return self.today.isoformat() + self.suffix, end_of_today
            return None
        scheduled = _due_window(at, self.local_now, self.catch_up)
        if scheduled is None:
            return None
        return scheduled.date().isoformat(), scheduled + self.catch_up


async def _group_pushes(session: AsyncSession, due: _Due, scope: set[int] | None) -> list[DuePush]:
    """Telegram groups' pushes due now, by their subscriptions."""
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
    pushes = []
    for sub, group in rows:
        at = sub.at_time or DEFAULT_TIMES[SubscriptionKind(sub.kind)]
        if scope is not None and group.unit_id not in scope:
            continue
        if when := due(at, sub.kind):
            period, expires = when
            pushes.append(
                DuePush(
                    PushKind(sub.kind),
                    Channel.TELEGRAM,
                    group.chat_id,
                    period,
                    expires,
                    unit_id=group.unit_id,
                )
            )
    return pushes


async def _robot_pushes(session: AsyncSession, due: _Due, scope: set[int] | None) -> list[DuePush]:
    """WeCom group robots' pushes due now."""
    pushes = []
    for target in await session.scalars(select(PushTarget).where(PushTarget.active.is_(True))):
        if scope is not None and target.unit_id not in scope:
            continue
        for kind in target.kinds.split(","):
            if kind not in (SubscriptionKind.COUNTDOWN, SubscriptionKind.OVERDUE):
                continue
            if when := due(target.at_time, kind):
                period, expires = when
                pushes.append(
                    DuePush(
                        PushKind(kind),
                        Channel.WECOM,
                        target.id,
                        period,
                        expires,
                        unit_id=target.unit_id,
                    )
                )
    return pushes


async def _queue(
    session: AsyncSession,
    campaign: CampaignInfo,
    pushes: list[DuePush],
    rules: PushRules,
    now: datetime,
) -> dict[str, int]:
    """Write the pushes not queued yet into the outbox, with their figures; how many per kind."""
    fresh = await _new_keys(session, [p.key for p in pushes])
    await session.commit()
    counts: dict[str, int] = defaultdict(int)
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
    return dict(counts)


async def _payload(
    session: AsyncSession, campaign: CampaignInfo, push: DuePush, rules: PushRules
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


async def _new_keys(session: AsyncSession, keys: list[str]) -> set[str]:
    """Which of these keys are not in the outbox yet (checked in chunks)."""
    fresh = set(keys)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        fresh -= set(await session.scalars(select(Outbox.key).where(Outbox.key.in_(chunk))))
    return fresh


async def _insert(session: AsyncSession, push: DuePush, payload: Payload, now: datetime) -> bool:
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
