"""WeCom robot targets, and the operator's view of the outbox (`hdbot push status`)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import record_event
from storage.errors import N_, Invalid, NotFound
from storage.groups import parse_time
from storage.models import (
    Channel,
    Outbox,
    OutboxStatus,
    PushTarget,
    SubscriptionKind,
    Unit,
)
from storage.units import find_unit

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
