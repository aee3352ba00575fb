"""Group chats: binding a group to a unit, and what it subscribes to."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.audit import record_event
from storage.errors import N_, Invalid, NotFound
from storage.models import GroupChat, Role, Subscription, SubscriptionKind, Unit, User
from storage.people import user_row
from storage.units import find_unit, unit_and_descendants

TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class GroupInfo:
    chat_id: int
    title: str
    unit_name: str | None
    subscriptions: dict[str, str | None]
    # After a rebinding: the unit the group was bound to before.
    replaced: str | None = None


class NotAllowed(Invalid):
    """The person may not do this here."""


async def _manager(session: AsyncSession, *, account: Account, is_chat_admin: bool) -> User:
    """Return the person if they may manage a group: a chat admin and a supervisor or admin."""
    user = await user_row(session, account, active_only=True)
    if not is_chat_admin or user is None or user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise NotAllowed(
            N_(
                "Only a chat administrator who is a registered supervisor or administrator "
                "can change this."
            )
        )
    return user


async def _group(session: AsyncSession, chat_id: int, title: str) -> GroupChat:
    group = (await session.scalars(select(GroupChat).where(GroupChat.chat_id == chat_id))).first()
    if group is None:
        group = GroupChat(chat_id=chat_id, title=title[:255])
        session.add(group)
        await session.flush()
    elif title and group.title != title[:255]:
        group.title = title[:255]
    return group


async def group_info(session: AsyncSession, chat_id: int) -> GroupInfo | None:
    """Return a group's unit and subscriptions, or None when the bot does not know it."""
    group = (await session.scalars(select(GroupChat).where(GroupChat.chat_id == chat_id))).first()
    if group is None:
        return None
    unit = await session.get(Unit, group.unit_id) if group.unit_id else None
    subs = await session.scalars(
        select(Subscription).where(Subscription.group_id == group.id, Subscription.active)
    )
    return GroupInfo(
        group.chat_id, group.title, unit.name if unit else None, {s.kind: s.at_time for s in subs}
    )


async def bind_group(
    session: AsyncSession,
    *,
    chat_id: int,
    title: str,
    unit: str,
    account: Account,
    is_chat_admin: bool,
) -> GroupInfo:
    """Bind a group to a unit; a supervisor may bind only to their own unit or one below it.

    Rebinding a group bound to another unit needs the right over that unit too, and says which
    unit it replaced (its subscriptions stay).
    """
    user = await _manager(session, account=account, is_chat_admin=is_chat_admin)
    target = await find_unit(session, unit)
    if not await _may_manage(session, user, target.id):
        raise NotAllowed(N_("You can bind a group only to your own unit or a unit below it."))
    group = await _group(session, chat_id, title)
    before = group.unit_id
    replaced = None
    if before is not None and before != target.id:
        if not await _may_manage(session, user, before):
            raise NotAllowed(
                N_("This group is bound to a unit that is not yours; its managers may move it.")
            )
        old = await session.get(Unit, before)
        replaced = old.name if old else None
    group.unit_id, group.active = target.id, True
    record_event(
        session,
        action="group.bound",
        actor=account.actor,
        actor_id=user.id,
        subject=str(chat_id),
        detail={"unit": target.name, "before_unit_id": before, "title": title},
    )
    await session.commit()
    info = await group_info(session, chat_id)
    assert info is not None
    return replace(info, replaced=replaced)


async def _may_manage(session: AsyncSession, user: User, unit_id: int) -> bool:
    """Administrators manage every unit; a supervisor their own and those below it."""
    if user.role == Role.ADMIN:
        return True
    allowed = await unit_and_descendants(session, user.unit_id) if user.unit_id else set()
    return unit_id in allowed


async def _check_scope(session: AsyncSession, user: User, chat_id: int) -> None:
    """A supervisor manages only groups bound to their own unit or one below it."""
    if user.role == Role.ADMIN:
        return
    group = (await session.scalars(select(GroupChat).where(GroupChat.chat_id == chat_id))).first()
    if group is None or group.unit_id is None:
        return  # nothing bound yet: subscribe() asks to bind first
    if not await _may_manage(session, user, group.unit_id):
        raise NotAllowed(N_("This group belongs to a unit that is not yours."))


def parse_time(text: str | None) -> str | None:
    """Return HH:MM from a typed time, or None when none was given."""
    if text is None or not text.strip():
        return None
    match = TIME_RE.match(text.strip().replace("：", ":"))
    if not match:
        raise Invalid(N_("“{text}” is not a time like 09:00."), text=text[:20])
    return f"{int(match[1]):02d}:{match[2]}"


DEFAULT_TIMES = {SubscriptionKind.COUNTDOWN: "09:00", SubscriptionKind.OVERDUE: "09:30"}


async def subscribe(
    session: AsyncSession,
    *,
    chat_id: int,
    title: str,
    kind: str,
    at_time: str | None,
    account: Account,
    is_chat_admin: bool,
) -> GroupInfo:
    """Subscribe a bound group to one kind of push, at a time of day for the daily ones."""
    user = await _manager(session, account=account, is_chat_admin=is_chat_admin)
    if kind not in set(SubscriptionKind):
        raise Invalid(N_("Subscribe to countdown, overdue or reports."))
    when = parse_time(at_time)
    await _check_scope(session, user, chat_id)
    if kind == SubscriptionKind.REPORTS:
        when = None
    else:
        when = when or DEFAULT_TIMES[SubscriptionKind(kind)]
    group = await _group(session, chat_id, title)
    if group.unit_id is None:
        raise NotFound(N_("Bind this group to a unit first: /bind UNIT."))
    sub = (
        await session.scalars(
            select(Subscription).where(Subscription.group_id == group.id, Subscription.kind == kind)
        )
    ).first()
    if sub is None:
        session.add(Subscription(group_id=group.id, kind=kind, at_time=when, active=True))
    else:
        sub.at_time, sub.active = when, True
    record_event(
        session,
        action="group.subscribed",
        actor=account.actor,
        actor_id=user.id,
        subject=str(chat_id),
        detail={"kind": kind, "at": when},
    )
    await session.commit()
    info = await group_info(session, chat_id)
    assert info is not None
    return info


async def unsubscribe(
    session: AsyncSession,
    *,
    chat_id: int,
    kind: str,
    account: Account,
    is_chat_admin: bool,
) -> GroupInfo:
    """Stop one kind of push to a group."""
    user = await _manager(session, account=account, is_chat_admin=is_chat_admin)
    if kind not in set(SubscriptionKind):
        raise Invalid(N_("Subscribe to countdown, overdue or reports."))
    group = (await session.scalars(select(GroupChat).where(GroupChat.chat_id == chat_id))).first()
    if group is None:
        raise NotFound(N_("This group is not bound to a unit."))
    await _check_scope(session, user, chat_id)
    sub = (
        await session.scalars(
            select(Subscription).where(Subscription.group_id == group.id, Subscription.kind == kind)
        )
    ).first()
    if sub is not None and sub.active:
        sub.active = False
        record_event(
            session,
            action="group.unsubscribed",
            actor=account.actor,
            actor_id=user.id,
            subject=str(chat_id),
            detail={"kind": kind},
        )
    await session.commit()
    info = await group_info(session, chat_id)
    assert info is not None
    return info
