"""Changing a danger: a conditional UPDATE, its audit event, the notice to whom it concerns.

A change is made only if nobody changed the danger first (of two people acting at once only
one wins), and announced through the outbox in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import record_event
from storage.models import (
    DangerStatus,
    Event,
    ExtensionRequest,
    ExtensionStatus,
    HiddenDanger,
    Rectification,
    Role,
    User,
)
from storage.notices import queue_notices
from storage.permissions import (
    NotAllowed,
    Viewer,
)
from storage.units import unit_and_ancestors


async def supervisors_of(session: AsyncSession, unit_id: int) -> list[User]:
    """The supervisors of the unit; where it has none, those of the nearest unit above."""
    chain = await unit_and_ancestors(session, unit_id)
    supervisors = await session.scalars(
        select(User)
        .where(User.unit_id.in_(chain), User.role == Role.SUPERVISOR, User.active.is_(True))
        .order_by(User.id)
    )
    by_unit: dict[int | None, list[User]] = defaultdict(list)
    for person in supervisors:
        by_unit[person.unit_id].append(person)
    return next((by_unit[unit] for unit in chain if by_unit[unit]), [])


async def announce(
    session: AsyncSession,
    viewer: Viewer,
    danger: HiddenDanger,
    action: str,
    detail: dict[str, Any],
    now: datetime,
    *,
    to: list[User],
    key: str,
    params: dict[str, Any],
) -> None:
    """Write the audit event of a change and queue its notice to the people concerned."""
    event = record_change(session, viewer, danger, action, detail, now)
    await session.flush()
    queue_notices(
        session,
        users=to,
        key=key,
        params=params,
        danger_id=danger.id,
        event_id=event.id,
        now=now,
    )


async def people_by_id(session: AsyncSession, *ids: int | None) -> list[User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return []
    return list(await session.scalars(select(User).where(User.id.in_(wanted))))


async def move_status(
    session: AsyncSession, danger: HiddenDanger, *, frm: str, to: str, now: datetime
) -> None:
    """Change status only if nobody changed it first; else refuse."""
    values: dict[str, Any] = {"status": to, "updated_at": now}
    if to == DangerStatus.CLOSED:
        values["closed_at"] = now
    elif frm == DangerStatus.CLOSED:
        values["closed_at"] = None
    result = await session.execute(
        update(HiddenDanger)
        .where(HiddenDanger.id == danger.id, HiddenDanger.status == frm)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise NotAllowed()
    await session.refresh(danger)


def record_change(
    session: AsyncSession,
    viewer: Viewer,
    danger: HiddenDanger,
    action: str,
    detail: dict[str, Any],
    now: datetime,
) -> Event:
    return record_event(
        session,
        action=action,
        actor=viewer.actor,
        actor_id=viewer.user_id,
        danger_id=danger.id,
        subject=danger.number,
        detail=detail,
        now=now,
    )


async def open_round(session: AsyncSession, danger_id: int) -> Rectification:
    round_ = (
        await session.scalars(
            select(Rectification)
            .where(Rectification.danger_id == danger_id, Rectification.verdict.is_(None))
            .order_by(Rectification.id.desc())
        )
    ).first()
    if round_ is None:
        raise NotAllowed()
    return round_


async def decide_extension(
    session: AsyncSession,
    danger_id: int,
    *,
    status: ExtensionStatus,
    by: int,
    now: datetime,
    reason: str | None = None,
) -> ExtensionRequest:
    """Grant or refuse the pending extension: one conditional UPDATE, so of two supervisors
    deciding at the same moment exactly one does (the other is told it moved on)."""
    ext = (
        await session.scalars(
            select(ExtensionRequest).where(
                ExtensionRequest.danger_id == danger_id,
                ExtensionRequest.status == ExtensionStatus.PENDING,
            )
        )
    ).first()
    if ext is None:
        raise NotAllowed()
    decided = await session.execute(
        update(ExtensionRequest)
        .where(ExtensionRequest.id == ext.id, ExtensionRequest.status == ExtensionStatus.PENDING)
        .values(status=status, decided_by_id=by, decided_at=now, decision_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        raise NotAllowed()
    await session.refresh(ext)
    return ext
