"""The outbox: pushes are written first, then claimed and sent by exactly one sender."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.clock import utcnow
from storage.models import (
    Channel,
    GroupChat,
    Outbox,
    OutboxStatus,
    Subscription,
)
from storage.push_payloads import Payload, PushKind, kind_of, payload_json

# A row claimed this long ago by a sender that never finished is claimed again. A crash
# between sending and recording it is the one case where a push can go out twice: Telegram
# offers no way to ask whether a message arrived.
CLAIM_TIMEOUT = timedelta(minutes=2)
MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A claimed row as the sender needs it; `payload_of(item)` reads what it carries."""

    id: int
    key: str
    channel: str
    target: str
    kind: str
    payload: Mapping[str, Any]  # the row's JSON, as stored
    attempts: int


# A key's first part names the channel: what the keys of rows already queued say.
_KEY_CHANNELS = {Channel.TELEGRAM: "tg", Channel.WECOM: "wecom", Channel.WECOM_APP: "wecom_app"}
# What a key calls a push of these kinds, where it is not the kind itself.
_KEY_WORDS = {PushKind.REPORT_CARD: "report", PushKind.NOTICE: "event"}


def outbox_key(
    kind: PushKind, *, channel: Channel, target: int | str, period: str, occasion: str | None = None
) -> str:
    """The unique key of a push: channel, target, and what it is once per.

    By default a push is one per kind and period (`tg:-100:countdown:2026-11-29`, a report's
    card `tg:-100:report:DL-2026-000001`, an event's notice `tg:42:event:17`); `occasion`
    names something else (an admin's notice about one group on one day).
    """
    once_per = occasion or f"{_KEY_WORDS.get(kind, kind)}:{period}"
    return f"{_KEY_CHANNELS[Channel(channel)]}:{target}:{once_per}"


def enqueue(
    session: AsyncSession,
    payload: Payload,
    *,
    channel: Channel,
    target: int | str,
    period: str,
    now: datetime,
    expires_at: datetime | None = None,
    occasion: str | None = None,
) -> str:
    """Queue one push in the session's transaction (its kind is its payload's); return its key.

    Queued with the change it tells of, a push goes out exactly when that change is committed.
    The key is unique: a second push with the same key fails at the flush or commit.
    """
    kind = kind_of(payload)
    key = outbox_key(kind, channel=channel, target=target, period=period, occasion=occasion)
    session.add(
        Outbox(
            key=key,
            channel=channel,
            target=str(target),
            kind=kind,
            period=period,
            payload=payload_json(payload),
            not_before=now,
            expires_at=expires_at,
            created_at=now,
        )
    )
    return key


async def release_claims_of_the_dead(
    session: AsyncSession, *, worker: str, is_dead: Callable[[str], bool]
) -> int:
    """Put back in the queue the pushes claimed by senders `is_dead` says are gone.

    A sender killed mid-push leaves its row claimed; without this the row waits out
    CLAIM_TIMEOUT. `is_dead` judges a claimant by its name (this host's processes can be
    asked; another host's are left to the timeout). Returns how many rows went back.
    """
    claimants = set(
        await session.scalars(
            select(Outbox.claimed_by)
            .where(Outbox.status == OutboxStatus.SENDING, Outbox.claimed_by.is_not(None))
            .distinct()
        )
    )
    released = 0
    for claimant in claimants - {worker}:
        if claimant is None or not is_dead(claimant):
            continue
        result = await session.execute(
            update(Outbox)
            .where(Outbox.status == OutboxStatus.SENDING, Outbox.claimed_by == claimant)
            .values(status=OutboxStatus.QUEUED, claimed_by=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        released += result.rowcount  # type: ignore[attr-defined]
    await session.commit()
    return released


async def claim_due(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime | None = None,
    limit: int = 20,
    channels: Collection[Channel] | None = None,
) -> list[OutboxItem]:
    """Claim up to `limit` due rows for this worker; a row is claimed by one worker only.

    `channels` names the channels this worker delivers (all when None): the rows of another
    channel stay queued for the sender that speaks it.
    """
    now = now or utcnow()
    # One transaction: the expiry and the claims are committed together.
    await _expire_passed(session, now)
    claimed = [
        _item_of(row)
        for row in await _due_rows(session, now, limit, channels)
        if await _claim(session, row, worker=worker, now=now)
    ]
    await session.commit()
    return claimed


async def _expire_passed(session: AsyncSession, now: datetime) -> None:
    """A daily push whose time has passed is dropped, not sent late."""
    await session.execute(
        update(Outbox)
        .where(
            Outbox.expires_at.is_not(None),
            Outbox.expires_at < now,
            Outbox.status.in_([OutboxStatus.QUEUED, OutboxStatus.SENDING]),
        )
        .values(status=OutboxStatus.EXPIRED, claimed_by=None)
        .execution_options(synchronize_session=False)
    )


async def _due_rows(
    session: AsyncSession, now: datetime, limit: int, channels: Collection[Channel] | None
) -> list[Outbox]:
    """The oldest rows due: queued, or claimed by a sender that has been silent too long."""
    return list(
        await session.scalars(
            select(Outbox)
            .where(
                or_(
                    Outbox.status == OutboxStatus.QUEUED,
                    (Outbox.status == OutboxStatus.SENDING)
                    & (Outbox.claimed_at < now - CLAIM_TIMEOUT),
                ),
                Outbox.not_before <= now,
                Outbox.channel.in_(channels) if channels is not None else true(),
            )
            .order_by(Outbox.not_before, Outbox.id)
            .limit(limit)
        )
    )


async def _claim(session: AsyncSession, row: Outbox, *, worker: str, now: datetime) -> bool:
    """Claim the row unless another sender did since it was read."""
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
    return result.rowcount == 1  # type: ignore[attr-defined]


def _item_of(row: Outbox) -> OutboxItem:
    return OutboxItem(
        row.id, row.key, row.channel, row.target, row.kind, dict(row.payload), row.attempts
    )


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
    give_up: bool = True,
) -> bool:
    """Put the push back in the queue after `delay`; False when it has failed for good.

    An outage (a timeout, a 5xx, a 429) is not the push's fault: with `give_up` false it is
    retried until it goes out (a daily push until it expires), however many attempts it takes.
    """
    now = now or utcnow()
    row = await session.get(Outbox, item_id)
    if row is None:
        return False
    row.attempts += 1
    row.last_error = error[:1000]
    row.claimed_by = row.claimed_at = None
    if give_up and row.attempts >= MAX_ATTEMPTS:
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


async def defer(
    session: AsyncSession, *, item_id: int, until: datetime, note: str | None = None
) -> None:
    """Put a push back without counting an attempt: its chat has had its share for now.

    `note` says why, for `hdbot push status` (a busy WeCom robot, say).
    """
    values: dict[str, Any] = {
        "status": OutboxStatus.QUEUED,
        "not_before": until,
        "claimed_by": None,
        "claimed_at": None,
    }
    if note is not None:
        values["last_error"] = note[:1000]
    await session.execute(update(Outbox).where(Outbox.id == item_id).values(**values))
    await session.commit()


async def count_waiting(session: AsyncSession, *, channel: Channel) -> int:
    """How many pushes of a channel are queued or being sent (not sent, failed or expired)."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(
                Outbox.channel == channel,
                Outbox.status.in_([OutboxStatus.QUEUED, OutboxStatus.SENDING]),
            )
        )
        or 0
    )


# Sent and expired pushes are kept this long (for `hdbot push status`), then forgotten.
KEEP_DONE = timedelta(days=14)


async def forget_done(session: AsyncSession, *, now: datetime) -> int:
    """Delete pushes sent or expired long ago (failed ones stay, to be looked at)."""
    result = await session.execute(
        delete(Outbox).where(
            Outbox.status.in_([OutboxStatus.SENT, OutboxStatus.EXPIRED]),
            Outbox.created_at < now - KEEP_DONE,
        )
    )
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# Any number that other code does not use: the key of the PostgreSQL advisory lock.
SENDER_LOCK = 0x6864626F74  # "hdbot"


@asynccontextmanager
async def sender_lease(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[bool]:
    """Let one bot process at a time drain the outbox (True inside when this one may).

    Several processes behind one webhook share a database; if each drained, each would pace
    itself alone and together they would pass Telegram's limits. On PostgreSQL an advisory
    lock, held on its own connection for the drain, elects the sender; SQLite serves one
    process and needs none.
    """
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "postgresql":
        yield True
        return
    async with bind.connect() as connection:
        held = bool(
            await connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": SENDER_LOCK})
        )
        try:
            yield held
        finally:
            if held:
                await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SENDER_LOCK})
