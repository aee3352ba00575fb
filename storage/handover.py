"""Taking someone's access away and giving it back, and handing their open hidden dangers over.

A hidden danger is rectified only by the person responsible for it. When that person leaves
(is deactivated) or cannot do it, responsibility moves to someone else who can: every move is
an audit event and the new person is told. Deactivating someone who still answers for open
hidden dangers without saying who takes them over is refused: they would be stuck forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.audit import record_event
from storage.clock import utcnow
from storage.dto import UserInfo
from storage.errors import N_, Invalid
from storage.models import (
    Channel,
    DangerStatus,
    Draft,
    DraftFlow,
    DraftStatus,
    Event,
    GroupChat,
    HiddenDanger,
    Role,
    User,
)
from storage.notices import queue_notices
from storage.people import not_registered, user_info, user_row
from storage.push_payloads import NoticePush
from storage.pushes.outbox import enqueue
from storage.units import unit_and_ancestors, unit_and_descendants

# A notice names at most this many numbers; the rest are counted.
NAMED_IN_NOTICE = 10


@dataclass(frozen=True, slots=True)
class Deactivation:
    user: UserInfo
    already: bool  # was deactivated before: nothing changed
    handed_over: list[str]  # numbers of the hidden dangers that moved to someone else
    # Groups this person bound, which stay bound to their unit and keep getting its cards:
    # each is told, so its admins can remove the person if they are still a member.
    bound_groups: list[str] = field(default_factory=list)


def answers_for(user_id: int) -> ColumnElement[bool]:
    """The condition "this person answers for it": responsible, or the reporter when nobody
    else was made responsible."""
    return func.coalesce(HiddenDanger.responsible_id, HiddenDanger.reporter_id) == user_id


async def open_dangers_of(session: AsyncSession, user_id: int) -> list[HiddenDanger]:
    """The hidden dangers not closed that this person answers for."""
    return list(
        await session.scalars(
            select(HiddenDanger)
            .where(answers_for(user_id), HiddenDanger.status != DangerStatus.CLOSED)
            .order_by(HiddenDanger.id)
            .with_for_update()
        )
    )


async def may_take_over(session: AsyncSession, person: User, unit_id: int) -> bool:
    """Whether `person` can answer for a hidden danger of this unit: active, and registered in
    that unit or a unit above it (an administrator of the whole campaign anywhere)."""
    if not person.active:
        return False
    if person.unit_id is None:
        return person.role == Role.ADMIN
    return unit_id in await unit_and_descendants(session, person.unit_id)


async def candidates(
    session: AsyncSession, danger: HiddenDanger, *, limit: int = 8
) -> list[tuple[int, str]]:
    """People who could take a hidden danger over: active inspectors and supervisors of its
    unit (then of the units above), not the one answering for it now; (user id, name)."""
    current = danger.responsible_id or danger.reporter_id
    found: list[tuple[int, str]] = []
    for unit in await unit_and_ancestors(session, danger.unit_id):
        rows = await session.execute(
            select(User.id, User.name)
            .where(
                User.unit_id == unit,
                User.active.is_(True),
                User.role.in_((Role.INSPECTOR, Role.SUPERVISOR)),
                User.id != current,
            )
            .order_by(User.role, User.name)
            .limit(limit - len(found))
        )
        found += [(user_id, name or str(user_id)) for user_id, name in rows]
        if len(found) >= limit:
            break
    return found


async def hand_over(
    session: AsyncSession,
    dangers: list[HiddenDanger],
    *,
    to: User,
    actor: str,
    actor_id: int | None,
    reason: str,
    now: datetime,
) -> list[str]:
    """Make `to` responsible for these hidden dangers (each only if nobody moved it first):
    an audit event each and one notice to the new person; return the numbers moved."""
    moved: list[str] = []
    last_event = None
    for danger in dangers:
        before = danger.responsible_id or danger.reporter_id
        if before == to.id:
            continue
        changed = await session.execute(
            update(HiddenDanger)
            .where(
                HiddenDanger.id == danger.id,
                answers_for(before),
                HiddenDanger.status != DangerStatus.CLOSED,
            )
            .values(responsible_id=to.id, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        last_event = record_event(
            session,
            action="danger.reassigned",
            actor=actor,
            actor_id=actor_id,
            danger_id=danger.id,
            subject=danger.number,
            detail={"from": before, "to": to.id, "reason": reason},
            now=now,
        )
        moved.append(danger.number)
    if moved and last_event is not None:
        await session.flush()
        shown = "、".join(moved[:NAMED_IN_NOTICE]) + ("…" if len(moved) > NAMED_IN_NOTICE else "")
        queue_notices(
            session,
            users=[to],
            key=N_(
                "You now answer for {count} hidden danger(s): {numbers}. Send /mine to see them."
            ),
            params={"count": len(moved), "numbers": shown},
            event_id=last_event.id,
            danger_id=None if len(moved) > 1 else dangers[0].id,
            now=now,
        )
    return moved


async def deactivate_user(
    session: AsyncSession,
    *,
    account: Account,
    actor: str,
    handover_to: Account | None = None,
    now: datetime | None = None,
) -> Deactivation:
    """Take someone's access away (they left the unit); their records and history stay.

    What they still answer for goes to the person of `handover_to`; without one, someone who
    answers for open hidden dangers is not deactivated.
    """
    now = now or utcnow()
    row = await user_row(session, account)
    if row is None:
        raise not_registered(account)
    if not row.active:
        return Deactivation(await user_info(session, row), already=True, handed_over=[])
    moved = await _hand_over_open(session, row, account, handover_to, actor=actor, now=now)
    # What they were in the middle of (an after-photo, a reason) can no longer be finished.
    await session.execute(
        update(Draft)
        .where(Draft.user_id == row.id, Draft.status == DraftStatus.OPEN)
        .where(Draft.flow == DraftFlow.ACTION)
        .values(status=DraftStatus.DISCARDED, updated_at=now)
    )
    row.active = False
    groups = await groups_bound_by(session, row.id)
    event = record_event(
        session,
        action="user.deactivated",
        actor=actor,
        subject=account.actor,
        detail={
            "role": row.role,
            "unit_id": row.unit_id,
            "handed_over": len(moved),
            "bound_groups": [g.chat_id for g in groups],
        },
        now=now,
    )
    if groups:
        await session.flush()
        _tell_groups(session, groups, name=row.name or account.actor, period=str(event.id), now=now)
    # One commit: the handover, the drafts, the access and the groups' notice go together.
    await session.commit()
    return Deactivation(
        await user_info(session, row),
        already=False,
        handed_over=moved,
        bound_groups=[g.title or str(g.chat_id) for g in groups],
    )


async def _hand_over_open(
    session: AsyncSession,
    row: User,
    account: Account,
    handover_to: Account | None,
    *,
    actor: str,
    now: datetime,
) -> list[str]:
    """Hand what the leaver still answers for to `handover_to`; return the numbers moved.

    Refuses without a successor, or when one of the dangers lies outside the successor's unit.
    """
    open_dangers = await open_dangers_of(session, row.id)
    if not open_dangers:
        return []
    if handover_to is None:
        raise Invalid(
            N_(
                "{name} still answers for {count} open hidden danger(s): name who takes "
                "them over (--handover-to TELEGRAM_ID or --handover-to-wecom USERID)."
            ),
            name=row.name or account.actor,
            count=len(open_dangers),
        )
    successor = await _successor(session, handover_to, row)
    for danger in open_dangers:
        if not await may_take_over(session, successor, danger.unit_id):
            raise Invalid(
                N_("{name} cannot take over {number}: it lies outside their unit."),
                name=successor.name or handover_to.actor,
                number=danger.number,
            )
    return await hand_over(
        session,
        open_dangers,
        to=successor,
        actor=actor,
        actor_id=None,
        reason="deactivated",
        now=now,
    )


def _tell_groups(
    session: AsyncSession, groups: list[GroupChat], *, name: str, period: str, now: datetime
) -> None:
    """Queue the notice that the person left to each group they bound."""
    notice = NoticePush(
        key=N_(
            "{name} no longer has access to hdbot. This group stays bound to its "
            "unit and keeps getting its cards: if {name} is still a member, a "
            "chat admin should remove them."
        ),
        params={"name": name},
    )
    for group in groups:
        enqueue(
            session,
            notice,
            channel=Channel.TELEGRAM,
            target=group.chat_id,
            period=period,
            now=now,
        )


async def groups_bound_by(session: AsyncSession, user_id: int) -> list[GroupChat]:
    """The active groups whose present binding this person made (their last `group.bound`)."""
    mine = set(
        await session.scalars(
            select(Event.subject).where(Event.action == "group.bound", Event.actor_id == user_id)
        )
    )
    if not mine:
        return []
    last_binder: dict[str, int | None] = {}
    for subject, actor_id in await session.execute(
        select(Event.subject, Event.actor_id)
        .where(Event.action == "group.bound", Event.subject.in_(mine))
        .order_by(Event.id)
    ):
        last_binder[subject] = actor_id
    chat_ids = [
        int(c) for c, who in last_binder.items() if who == user_id and c.lstrip("-").isdigit()
    ]
    return list(
        await session.scalars(
            select(GroupChat)
            .where(GroupChat.chat_id.in_(chat_ids), GroupChat.active.is_(True))
            .where(GroupChat.unit_id.is_not(None))
            .order_by(GroupChat.chat_id)
        )
    )


async def _successor(session: AsyncSession, account: Account, leaving: User) -> User:
    successor = await user_row(session, account)
    if successor is None:
        raise not_registered(account)
    if successor.id == leaving.id:
        raise Invalid(N_("Hand the hidden dangers over to someone else."))
    if not successor.active:
        raise Invalid(
            N_("{name} is deactivated and cannot take anything over."), name=successor.name
        )
    return successor


async def activate_user(
    session: AsyncSession, *, account: Account, actor: str, now: datetime | None = None
) -> tuple[UserInfo, bool]:
    """Give a deactivated person their access back; True when anything changed."""
    row = await user_row(session, account)
    if row is None:
        raise not_registered(account)
    if row.active:
        return await user_info(session, row), False
    row.active = True
    record_event(
        session,
        action="user.activated",
        actor=actor,
        subject=account.actor,
        detail={"role": row.role, "unit_id": row.unit_id},
        now=now or utcnow(),
    )
    await session.commit()
    return await user_info(session, row), True
