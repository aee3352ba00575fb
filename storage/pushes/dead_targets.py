"""Targets that stopped taking pushes: the chat or robot turned off, and the admins told."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import push_address
from storage.audit import record_event
from storage.clock import utcnow
from storage.errors import N_
from storage.models import (
    GroupChat,
    Outbox,
    PushTarget,
    Role,
    Subscription,
    Unit,
    User,
)
from storage.push_payloads import NoticePush, PushKind
from storage.pushes.outbox import enqueue, outbox_key
from storage.units import unit_and_ancestors


async def _tell_admins(
    session: AsyncSession,
    *,
    unit_id: int | None,
    key: str,
    params: Mapping[str, str | int],
    tag: str,
    now: datetime,
) -> None:
    """Queue a notice to the admins over a unit (and city-wide admins), once per tag."""
    units = await unit_and_ancestors(session, unit_id) if unit_id is not None else []
    admins = await session.scalars(
        select(User).where(
            User.role == Role.ADMIN,
            User.active.is_(True),
            or_(User.unit_id.is_(None), User.unit_id.in_(units)),
        )
    )
    notice = NoticePush(key=key, params=params)
    day = now.date().isoformat()
    for admin in admins:
        to = push_address(admin)
        told = outbox_key(
            PushKind.NOTICE, channel=to.channel, target=to.target, period=day, occasion=tag
        )
        if await session.scalar(select(Outbox.id).where(Outbox.key == told)):
            continue
        enqueue(
            session,
            notice,
            channel=to.channel,
            target=to.target,
            period=day,
            occasion=tag,
            now=now,
        )


async def deactivate_chat(
    session: AsyncSession, *, chat_id: int, error: str = "", now: datetime | None = None
) -> bool:
    """Stop pushing to a group the bot was removed from and tell its admins; True if it was on."""
    now = now or utcnow()
    group = (await session.scalars(select(GroupChat).where(GroupChat.chat_id == chat_id))).first()
    if group is None or not group.active:
        return False
    group.active = False
    await session.execute(
        update(Subscription).where(Subscription.group_id == group.id).values(active=False)
    )
    record_event(
        session,
        action="group.deactivated",
        actor="hdbot",
        subject=str(chat_id),
        detail={"title": group.title, "error": error[:300]},
        now=now,
    )
    unit = await session.get(Unit, group.unit_id) if group.unit_id else None
    await _tell_admins(
        session,
        unit_id=group.unit_id,
        key=N_(
            "hdbot can no longer post to the group “{title}” ({unit}): {error}. Its "
            "subscriptions are stopped; add the bot again and /subscribe to resume."
        ),
        params={
            "title": group.title or str(chat_id),
            "unit": unit.name if unit else "—",
            "error": error[:200],
        },
        tag=f"group-off:{chat_id}:{now.date().isoformat()}",
        now=now,
    )
    await session.commit()
    return True


@dataclass(frozen=True, slots=True)
class WecomTarget:
    id: int
    key: str
    unit_id: int


async def wecom_target(session: AsyncSession, target_id: int) -> WecomTarget | None:
    """The active WeCom robot behind an outbox row, or None."""
    row = await session.get(PushTarget, target_id)
    if row is None or not row.active:
        return None
    return WecomTarget(row.id, row.key, row.unit_id)


async def deactivate_target(
    session: AsyncSession, *, target_id: int, error: str, now: datetime | None = None
) -> None:
    """Stop pushing to a WeCom robot whose key no longer works, and tell the admins."""
    now = now or utcnow()
    row = await session.get(PushTarget, target_id)
    if row is None or not row.active:
        return
    row.active, row.last_error = False, error[:500]
    unit = await session.get(Unit, row.unit_id)
    await _tell_admins(
        session,
        unit_id=row.unit_id,
        key=N_(
            "The WeCom robot of {unit} refused our pushes ({error}); it is switched off. "
            "Add it again with hdbot push-target add-wecom."
        ),
        params={"unit": unit.name if unit else "—", "error": error[:200]},
        tag=f"wecom-off:{target_id}:{now.date().isoformat()}",
        now=now,
    )
    await session.commit()
