"""People: admins, invites, and the registered users who redeem them."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    bindparam,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account, Front
from storage.audit import record_event
from storage.clock import utcnow
from storage.conversation import clean
from storage.dto import InviteInfo, UserInfo
from storage.errors import N_, Invalid, NotFound
from storage.languages import LANGUAGES
from storage.models import (
    Draft,
    DraftFlow,
    DraftStatus,
    GroupChat,
    Invite,
    LanguageChoice,
    Role,
    Unit,
    User,
)
from storage.units import find_unit, unit_and_descendants

# 16 URL-safe characters carry 96 random bits and fit Telegram's deep-link alphabet.
INVITE_LENGTH = (
    16  # letters and digits: about 95 bits, and never a leading '-' a shell reads as an option
)
INVITE_ALPHABET = string.ascii_letters + string.digits
MAX_INVITE_USES = 1000


def looks_like_invite_code(text: str) -> bool:
    """Whether a typed text has an invite code's shape (where a front takes codes as text)."""
    return len(text) == INVITE_LENGTH and all(c in INVITE_ALPHABET for c in text)


MAX_INVITE_DAYS = 365


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
    language: ColumnElement[Any]
    if front == Front.TELEGRAM:
        telegram_id = bindparam("key", type_=BigInteger)
        of_account = User.telegram_id == telegram_id
        language = (
            select(LanguageChoice.language)
            .where(LanguageChoice.telegram_id == telegram_id)
            .scalar_subquery()
        )
    else:
        of_account = User.wecom_user_id == bindparam("key", type_=String)
        # Chosen languages are kept by Telegram id (/lang is a Telegram command): a WeCom
        # account has none, and the deployment's default applies.
        language = null()
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
            _WHO_IS[account.front], {"key": key, "group_chat_id": group_chat_id or 0}
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


async def create_invite(
    session: AsyncSession,
    *,
    role: str,
    unit: str | None,
    uses: int = 1,
    expires_days: int | None = 7,
    actor: str,
    now: datetime | None = None,
) -> InviteInfo:
    """Create an unguessable invite code for a role in a unit."""
    if role not in set(Role):
        raise Invalid(N_("A role is inspector, supervisor or admin, not {role}."), role=role)
    if role != Role.ADMIN and not unit:
        raise Invalid(N_("An invite for the role {role} needs a unit."), role=role)
    if not 1 <= uses <= MAX_INVITE_USES:
        raise Invalid(N_("Uses must be between 1 and {max}."), max=MAX_INVITE_USES)
    if expires_days is not None and not 1 <= expires_days <= MAX_INVITE_DAYS:
        raise Invalid(N_("Expiry must be between 1 and {max} days."), max=MAX_INVITE_DAYS)
    unit_info = await find_unit(session, unit) if unit else None
    now = now or utcnow()
    expires_at = now + timedelta(days=expires_days) if expires_days else None
    code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
    session.add(
        Invite(
            code=code,
            role=role,
            unit_id=unit_info.id if unit_info else None,
            max_uses=uses,
            expires_at=expires_at,
            created_at=now,
        )
    )
    record_event(
        session,
        action="invite.created",
        actor=actor,
        subject=unit_info.name if unit_info else "",
        # The code itself stays out of the trail: anyone reading the log could redeem it.
        detail={"role": role, "uses": uses, "expires_at": expires_at and expires_at.isoformat()},
        now=now,
    )
    await session.commit()
    return InviteInfo(code, role, unit_info.name if unit_info else None, uses, 0, expires_at)


async def redeem_invite(
    session: AsyncSession,
    *,
    code: str,
    account: Account,
    name: str,
    username: str | None,
    now: datetime | None = None,
) -> UserInfo:
    """Register a person with the invite's role and unit; each use is counted once, atomically.

    An invite code is the same on every front. A person known on one front who redeems a code
    on the other becomes a new person: only an administrator links two accounts into one.
    """
    now = now or utcnow()
    invite = (await session.scalars(select(Invite).where(Invite.code == code.strip()))).first()
    if invite is None or invite.revoked:
        raise NotFound(
            N_("This invite link is not valid. Ask your unit's administrator for a new one.")
        )
    row = await user_row(session, account)
    if row is not None and not row.active:
        # Access taken away stays away: only an administrator gives it back, never a link.
        raise Invalid(
            N_(
                "Your access was taken away. If that is a mistake, ask an administrator to "
                "give it back."
            )
        )
    if row is not None and row.role == invite.role and row.unit_id == invite.unit_id:
        return await user_info(session, row)  # opening the same link again changes nothing
    if row is not None and row.role == Role.ADMIN:
        # An administrator trying a link must not lose their rights by it.
        raise Invalid(N_("You are an administrator already; an invite link does not change that."))
    # Checked and used in one statement: a link revoked, expired or used up a moment ago (by
    # another process) cannot slip through between a check and the update.
    claimed = await session.execute(
        update(Invite)
        .where(
            Invite.id == invite.id,
            Invite.uses < Invite.max_uses,
            Invite.revoked.is_(False),
            or_(Invite.expires_at.is_(None), Invite.expires_at > now),
        )
        .values(uses=Invite.uses + 1)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        why = _why_unusable(invite, now)  # read before the rollback expires the row
        await session.rollback()
        raise Invalid(why)
    before = None
    if row is None:
        row = User(
            telegram_id=account.telegram_id,
            wecom_user_id=account.wecom_user_id,
            role=invite.role,
            unit_id=invite.unit_id,
        )
        session.add(row)
    else:
        before = {"role": row.role, "unit_id": row.unit_id}
        row.role, row.unit_id = invite.role, invite.unit_id
    name = clean(name)[:200]
    row.name = name
    row.username = username
    await session.flush()
    record_event(
        session,
        action="user.registered",
        actor=account.actor,
        actor_id=row.id,
        subject=name,
        detail={
            "role": invite.role,
            "unit_id": invite.unit_id,
            "invite_id": invite.id,
            "before": before,
        },
        now=now,
    )
    await session.commit()
    return await user_info(session, row)


def _why_unusable(invite: Invite, now: datetime) -> str:
    if invite.expires_at is not None and invite.expires_at <= now:
        return N_("This invite link expired. Ask your unit's administrator for a new one.")
    if invite.revoked:
        return N_("This invite link is not valid. Ask your unit's administrator for a new one.")
    return N_("This invite link has been used up. Ask your unit's administrator for a new one.")


async def chosen_language(session: AsyncSession, account: Account) -> str | None:
    """Return the language this person chose with /lang, if any."""
    if account.telegram_id is None:
        return None  # kept by Telegram id: on WeCom the deployment's default applies
    row = await session.get(LanguageChoice, account.telegram_id)
    return row.language if row else None


async def choose_language(session: AsyncSession, *, account: Account, language: str) -> None:
    """Remember a person's language (registered or not)."""
    if language not in LANGUAGES:
        raise Invalid(N_("Unknown language {language}."), language=language)
    if account.telegram_id is None:
        # language_choice is keyed by Telegram id; WeCom speaks the deployment's language.
        raise Invalid(N_("On WeCom hdbot speaks the language its administrator set."))
    row = await session.get(LanguageChoice, account.telegram_id)
    if row is None:
        session.add(LanguageChoice(telegram_id=account.telegram_id, language=language))
    else:
        row.language = language
    await session.commit()


async def revoke_invite(session: AsyncSession, *, code: str, actor: str) -> tuple[InviteInfo, bool]:
    """Make an invite unusable (a link that went where it should not); True when it changed."""
    invite = (await session.scalars(select(Invite).where(Invite.code == code.strip()))).first()
    if invite is None:
        raise NotFound(N_("No invite has this code."))
    unit = await session.get(Unit, invite.unit_id) if invite.unit_id else None
    changed = not invite.revoked
    if changed:
        invite.revoked = True
        record_event(
            session,
            action="invite.revoked",
            actor=actor,
            subject=unit.name if unit else "",
            detail={"role": invite.role, "uses": invite.uses},
        )
        await session.commit()
    info = InviteInfo(
        invite.code,
        invite.role,
        unit.name if unit else None,
        invite.max_uses,
        invite.uses,
        invite.expires_at,
    )
    return info, changed


async def list_users(session: AsyncSession, *, unit: str | None = None) -> list[UserInfo]:
    """Registered people, by unit (and the units below it) when given."""
    stmt = select(User).order_by(User.unit_id, User.role, User.name)
    if unit is not None:
        below = await unit_and_descendants(session, (await find_unit(session, unit)).id)
        stmt = stmt.where(User.unit_id.in_(below))
    return [await user_info(session, row) for row in await session.scalars(stmt)]
