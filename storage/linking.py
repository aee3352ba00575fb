"""One person, two fronts: an administrator links a person's Telegram and WeCom accounts.

An invite code redeemed on the other front makes a new person (nothing tells the bot that the
two are one human); only an administrator, who knows them, says so. After the link the person
sees and does the same from either front, and the audit trail says who linked what.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import Account, Front
from storage.audit import record_event
from storage.dto import UserInfo
from storage.errors import N_, Invalid
from storage.models import Draft, Event, ExtensionRequest, HiddenDanger, Photo, Rectification, User
from storage.people import not_registered, user_info, user_row

# Written when someone redeems an invite: the one event a person without records has.
REGISTERED = "user.registered"


async def link_accounts(
    session: AsyncSession, *, telegram: Account, wecom: Account, actor: str
) -> tuple[UserInfo, bool]:
    """Put a WeCom user id on the person of a Telegram id (or the Telegram id on the person
    known on WeCom only); True when anything changed.

    A WeCom id held by someone else moves only when that someone has no records (they
    registered and did nothing yet): they are the same human, by the administrator's word.
    """
    if telegram.front != Front.TELEGRAM or wecom.front != Front.WECOM:
        raise ValueError("link a Telegram account and a WeCom account")
    holder = await user_row(session, telegram)
    other = await user_row(session, wecom)
    if holder is None and other is None:
        raise not_registered(telegram)
    if holder is not None and holder.wecom_user_id == wecom.key:
        return await user_info(session, holder), False
    # A person has one account on each front, and a link never replaces one: that would lock
    # whoever uses it out without a word.
    if holder is not None and holder.wecom_user_id is not None:
        raise _already_linked(holder, Account(Front.WECOM, holder.wecom_user_id))
    if holder is None and other is not None and other.telegram_id is not None:
        raise _already_linked(other, Account(Front.TELEGRAM, str(other.telegram_id)))
    detail: dict[str, Any] = {"telegram_id": telegram.telegram_id, "wecom_user_id": wecom.key}
    if holder is None:
        assert other is not None
        # Known on WeCom only: their Telegram id joins them.
        person = other
        person.telegram_id = telegram.telegram_id
    else:
        person = holder
        if other is not None:
            detail["absorbed"] = await _release(session, other, wecom, to=person)
        person.wecom_user_id = wecom.key
    await session.flush()
    record_event(session, action="user.linked", actor=actor, subject=telegram.actor, detail=detail)
    await session.commit()
    return await user_info(session, person), True


def _already_linked(person: User, account: Account) -> Invalid:
    return Invalid(
        N_("{name} is already linked to {account}."), name=person.name or "-", account=account.actor
    )


async def _release(
    session: AsyncSession, other: User, wecom: Account, *, to: User
) -> dict[str, Any]:
    """Take the WeCom id off the other person it belongs to, or refuse; say who they were."""
    if await has_records(session, other.id):
        raise Invalid(
            N_(
                "The WeCom user id {id} belongs to {name}, who has records of their own; it "
                "cannot be linked to anyone else."
            ),
            id=wecom.key,
            name=other.name or wecom.actor,
        )
    absorbed = {"id": other.id, "role": other.role, "unit_id": other.unit_id}
    if other.telegram_id is not None:
        other.wecom_user_id = None  # they keep their own Telegram account
    else:
        # A row with no account left cannot stay (every person holds one). Its registration
        # now names the person who holds that WeCom account, and the link event names the
        # row it came from.
        await session.execute(
            update(Event)
            .where(Event.actor_id == other.id, Event.action == REGISTERED)
            .values(actor_id=to.id)
            .execution_options(synchronize_session=False)
        )
        await session.delete(other)
    # Before the WeCom id goes to `to`: it is unique, and a flush orders deletes last.
    await session.flush()
    return absorbed


async def has_records(session: AsyncSession, user_id: int) -> bool:
    """Whether anything on record points to this person beyond their own registration."""
    checks = [
        exists().where(
            or_(HiddenDanger.reporter_id == user_id, HiddenDanger.responsible_id == user_id)
        ),
        exists().where(Draft.user_id == user_id),
        exists().where(Photo.user_id == user_id),
        exists().where(
            or_(Rectification.submitted_by_id == user_id, Rectification.verified_by_id == user_id)
        ),
        exists().where(
            or_(
                ExtensionRequest.requested_by_id == user_id,
                ExtensionRequest.decided_by_id == user_id,
            )
        ),
        exists().where(Event.actor_id == user_id, Event.action != REGISTERED),
    ]
    for check in checks:
        if await session.scalar(select(check)):
            return True
    return False
