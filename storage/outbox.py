"""The outbox: pushes are written first, then claimed and sent by exactly one sender."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import GroupChat, Outbox, OutboxStatus, Subscription, utcnow

# A row claimed this long ago by a sender that never finished is claimed again.
CLAIM_TIMEOUT = timedelta(minutes=5)
MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    key: str
    channel: str
    target: str
    kind: str
    payload: dict[str, Any]
    attempts: int


async def claim_due(
    session: AsyncSession, *, worker: str, now: datetime | None = None, limit: int = 20
) -> list[OutboxItem]:
    """Claim up to `limit` due rows for this worker; a row is claimed by one worker only."""
    now = now or utcnow()
    candidates = list(
        await session.scalars(
            select(Outbox)
            .where(
                or_(
                    Outbox.status == OutboxStatus.QUEUED,
                    (Outbox.status == OutboxStatus.SENDING)
                    & (Outbox.claimed_at < now - CLAIM_TIMEOUT),
                ),
                Outbox.not_before <= now,
            )
            .order_by(Outbox.not_before, Outbox.id)
            .limit(limit)
        )
    )
    claimed: list[OutboxItem] = []
    for row in candidates:
        # The conditional UPDATE is the claim: of two senders, only one sees a changed row.
        result = await session.execute(
            update(Outbox)
            .where(
                Outbox.id == row.id,
                Outbox.status == row.status,
                or_(Outbox.claimed_at.is_(None), Outbox.claimed_at == row.claimed_at),
            )
            .values(status=OutboxStatus.SENDING, claimed_by=worker, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(
                OutboxItem(
                    row.id,
                    row.key,
                    row.channel,
                    row.target,
                    row.kind,
                    dict(row.payload),
                    row.attempts,
                )
            )
    await session.commit()
    return claimed


async def mark_sent(session: AsyncSession, *, item_id: int, now: datetime | None = None) -> None:
    """Record that the push went out."""
    await session.execute(
        update(Outbox)
        .where(Outbox.id == item_id)
        .values(status=OutboxStatus.SENT, sent_at=now or utcnow(), last_error=None)
    )
    await session.commit()


async def mark_retry(
    session: AsyncSession,
    *,
    item_id: int,
    error: str,
    delay: timedelta,
    now: datetime | None = None,
) -> bool:
    """Put the push back in the queue after `delay`; False when it has failed for good."""
    now = now or utcnow()
    row = await session.get(Outbox, item_id)
    if row is None:
        return False
    row.attempts += 1
    row.last_error = error[:1000]
    row.claimed_by = row.claimed_at = None
    if row.attempts >= MAX_ATTEMPTS:
        row.status = OutboxStatus.FAILED
    else:
        row.status = OutboxStatus.QUEUED
        row.not_before = now + delay
    await session.commit()
    return row.status == OutboxStatus.QUEUED


async def mark_failed(session: AsyncSession, *, item_id: int, error: str) -> None:
    """Give up on a push that can never be delivered."""
    await session.execute(
        update(Outbox)
        .where(Outbox.id == item_id)
        .values(status=OutboxStatus.FAILED, last_error=error[:1000], claimed_by=None)
    )
    await session.commit()


async def retarget(
    session: AsyncSession, *, item_id: int, old_chat_id: int, new_chat_id: int
) -> None:
    """Follow a group that became a supergroup: move the group and this push to the new id."""
    old = (await session.scalars(select(GroupChat).where(GroupChat.chat_id == old_chat_id))).first()
    new = (await session.scalars(select(GroupChat).where(GroupChat.chat_id == new_chat_id))).first()
    if old is not None and new is None:
        old.chat_id = new_chat_id
    elif old is not None and new is not None:
        # Someone already used the supergroup (e.g. /bind in it): merge the old group into it.
        have = set(
            await session.scalars(select(Subscription.kind).where(Subscription.group_id == new.id))
        )
        for sub in await session.scalars(
            select(Subscription).where(Subscription.group_id == old.id)
        ):
            if sub.kind not in have:
                sub.group_id = new.id
            else:
                sub.active = False
        new.unit_id = new.unit_id or old.unit_id
        old.active = False
    await session.execute(
        update(Outbox)
        .where(Outbox.id == item_id)
        .values(target=str(new_chat_id), status=OutboxStatus.QUEUED, claimed_by=None)
    )
    await session.commit()


async def deactivate_chat(session: AsyncSession, *, chat_id: int) -> bool:
    """Stop pushing to a group the bot was removed from; True when it was active."""
    group = (await session.scalars(select(GroupChat).where(GroupChat.chat_id == chat_id))).first()
    if group is None or not group.active:
        return False
    group.active = False
    await session.execute(
        update(Subscription).where(Subscription.group_id == group.id).values(active=False)
    )
    await session.commit()
    return True
