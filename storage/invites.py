"""Invites: unguessable codes for a role in a unit, redeemed once each use, revoked at will."""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account
from storage.audit import record_event
from storage.clock import utcnow
from storage.conversation import clean
from storage.dto import InviteInfo, UserInfo
from storage.errors import N_, Invalid, NotFound
from storage.models import Invite, Role, Unit, User
from storage.people import user_info, user_row
from storage.units import find_unit

# 16 URL-safe characters carry 96 random bits and fit Telegram's deep-link alphabet.
INVITE_LENGTH = (
    16  # letters and digits: about 95 bits, and never a leading '-' a shell reads as an option
)
INVITE_ALPHABET = string.ascii_letters + string.digits
MAX_INVITE_USES = 1000
MAX_INVITE_DAYS = 365


def looks_like_invite_code(text: str) -> bool:
    """Whether a typed text has an invite code's shape (where a front takes codes as text)."""
    return len(text) == INVITE_LENGTH and all(c in INVITE_ALPHABET for c in text)


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
    await _claim_use(session, invite, now)
    row = await _register(session, row, invite, account, name, username, now)
    await session.commit()
    return await user_info(session, row)


async def _claim_use(session: AsyncSession, invite: Invite, now: datetime) -> None:
    """Count one use of the invite, or roll back and refuse when it is no longer usable."""
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


async def _register(
    session: AsyncSession,
    row: User | None,
    invite: Invite,
    account: Account,
    name: str,
    username: str | None,
    now: datetime,
) -> User:
    """Give the person (new, or known with another role or unit) the invite's role and unit,
    and note it in the audit trail."""
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
    return row


def _why_unusable(invite: Invite, now: datetime) -> str:
    if invite.expires_at is not None and invite.expires_at <= now:
        return N_("This invite link expired. Ask your unit's administrator for a new one.")
    if invite.revoked:
        return N_("This invite link is not valid. Ask your unit's administrator for a new one.")
    return N_("This invite link has been used up. Ask your unit's administrator for a new one.")


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
