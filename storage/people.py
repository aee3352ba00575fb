"""Who a person is: their row behind an account, who writes (one query an update), admins,
chosen languages, the list of people. Invites, which make people, are storage/invites.py's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, String, bindparam, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account, Front
from storage.audit import record_event
from storage.dto import UserInfo
from storage.errors import N_, Invalid, NotFound
from storage.languages import LANGUAGES
from storage.models import (
    Draft,
    DraftFlow,
    DraftStatus,
    GroupChat,
    LanguageChoice,
    Role,
    Unit,
    User,
)
from storage.units import find_unit, unit_and_descendants


async def user_row(
    session: AsyncSession, account: Account, *, active_only: bool = False
) -> User | None:
    """The person's row behind an account (only if active, when asked), for storage's use."""
    stmt = select(User).where(account.of_user())
    if active_only:
        stmt = stmt.where(User.active.is_(True))
    return (await session.scalars(stmt)).first()


def not_registered(account: Account) -> NotFound:
    """The refusal when nobody holds this account."""
    if account.telegram_id is not None:
        return NotFound(N_("Nobody is registered with Telegram id {id}."), id=account.telegram_id)
    return NotFound(N_("Nobody is registered with WeCom user id {id}."), id=account.key)


async def user_info(session: AsyncSession, row: User) -> UserInfo:
    """The plain view of a person's row (with their unit's name)."""
    unit = await session.get(Unit, row.unit_id) if row.unit_id else None
    return UserInfo(
        id=row.id,
        telegram_id=row.telegram_id,
        wecom_user_id=row.wecom_user_id,
        name=row.name,
        role=row.role,
        unit_id=row.unit_id,
        unit_name=unit.name if unit else None,
        active=row.active,
    )


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who writes, as every update needs it: the registration, if any, the chosen language,
    (for a group) whether the group is bound to a unit, and where their open drafts stand."""

    user: UserInfo | None
    language: str | None
    group_bound: bool = False
    # The steps of the person's open drafts, if any: which one a message answers.
    report_step: str | None = None
    action_step: str | None = None


def _who_is_statement(front: Front) -> Select[Any]:
    group_chat_id = bindparam("group_chat_id", type_=BigInteger)
    of_account: ColumnElement[bool]
    if front == Front.TELEGRAM:
        of_account = User.telegram_id == bindparam("key", type_=BigInteger)
    else:
        of_account = User.wecom_user_id == bindparam("key", type_=String)
    language = (
        select(LanguageChoice.language)
        .where(LanguageChoice.account == bindparam("account", type_=String))
        .scalar_subquery()
    )
    bound = (
        select(GroupChat.unit_id)
        .where(GroupChat.chat_id == group_chat_id, GroupChat.unit_id.is_not(None))
        .scalar_subquery()
    )
    open_steps = [
        select(Draft.step)
        .where(Draft.user_id == User.id, Draft.flow == flow, Draft.status == DraftStatus.OPEN)
        .scalar_subquery()
        for flow in (DraftFlow.REPORT, DraftFlow.ACTION)
    ]
    # One row whether or not the person is registered: the language lives apart from users.
    anchor = select(literal(1).label("one")).subquery()
    columns = (
        User.id,
        User.telegram_id,
        User.wecom_user_id,
        User.name,
        User.role,
        User.unit_id,
        User.active,
        Unit.name,
    )
    return (
        select(*columns, language, bound, *open_steps)
        .select_from(anchor)
        .outerjoin(User, of_account)
        .outerjoin(Unit, Unit.id == User.unit_id)
    )


# Built once per front: every update asks it, and building a statement costs more than
# running it.
_WHO_IS = {front: _who_is_statement(front) for front in Front}


async def who_is(
    session: AsyncSession, account: Account, *, group_chat_id: int | None = None
) -> Visitor:
    """Look an account up in one query: the person, their unit's name, their chosen language,
    whether the group they write in (if any) is bound to a unit, and their open drafts' steps."""
    key = account.telegram_id if account.telegram_id is not None else account.key
    row = (
        await session.execute(
            _WHO_IS[account.front],
            {"key": key, "account": account.actor, "group_chat_id": group_chat_id or 0},
        )
    ).one()
    user_id, telegram_id, wecom_user_id, name, role, unit_id, active, unit_name = row[:8]
    chosen, group_unit, report, action = row[8:]
    user = None
    if user_id is not None:
        user = UserInfo(
            id=user_id,
            telegram_id=telegram_id,
            wecom_user_id=wecom_user_id,
            name=name,
            role=role,
            unit_id=unit_id,
            unit_name=unit_name,
            active=active,
        )
    return Visitor(user, chosen, group_unit is not None, report, action)


async def get_user(session: AsyncSession, account: Account) -> UserInfo | None:
    """Return the registered person holding this account, or None."""
    row = await user_row(session, account)
    return await user_info(session, row) if row else None


async def add_admin(
    session: AsyncSession, *, account: Account, actor: str, unit: str | None = None
) -> tuple[UserInfo, bool]:
    """Make the person of an account an admin, registering them if needed; True when anything
    changed."""
    unit_id = (await find_unit(session, unit)).id if unit else None
    row = await user_row(session, account)
    changed = False
    if row is None:
        row = User(
            telegram_id=account.telegram_id,
            wecom_user_id=account.wecom_user_id,
            role=Role.ADMIN,
            unit_id=unit_id,
        )
        session.add(row)
        changed = True
    elif row.role != Role.ADMIN or not row.active or (unit_id and row.unit_id != unit_id):
        row.role, row.active = Role.ADMIN, True
        row.unit_id = unit_id or row.unit_id
        changed = True
    if changed:
        await session.flush()
        record_event(
            session,
            action="user.admin_added",
            actor=actor,
            subject=account.actor,
            detail={"unit": unit},
        )
        await session.commit()
    return await user_info(session, row), changed


async def chosen_language(session: AsyncSession, account: Account) -> str | None:
    """Return the language this person chose with /lang on this account, if any."""
    row = await session.get(LanguageChoice, account.actor)
    return row.language if row else None


async def choose_language(session: AsyncSession, *, account: Account, language: str) -> None:
    """Remember the language of an account, on either front (registered or not)."""
    if language not in LANGUAGES:
        raise Invalid(N_("Unknown language {language}."), language=language)
    row = await session.get(LanguageChoice, account.actor)
    if row is None:
        session.add(LanguageChoice(account=account.actor, language=language))
    else:
        row.language = language
    await session.commit()


async def list_users(session: AsyncSession, *, unit: str | None = None) -> list[UserInfo]:
    """Registered people, by unit (and the units below it) when given."""
    stmt = select(User).order_by(User.unit_id, User.role, User.name)
    if unit is not None:
        below = await unit_and_descendants(session, (await find_unit(session, unit)).id)
        stmt = stmt.where(User.unit_id.in_(below))
    return [await user_info(session, row) for row in await session.scalars(stmt)]
