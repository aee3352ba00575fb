"""The inbox: every update received is kept here before Telegram learns it arrived, and
forgotten once it was handled; what a crash left in between is handled again at start.

Telegram (long polling) takes an update as delivered at the bot's next getUpdates, which
python-telegram-bot makes as soon as it has queued the last batch, long before the handlers
are done; a webhook answers 200 as soon as the update is queued. Either way an update the bot
was killed in the middle of would be gone. Handling one again is safe: each step claims its
update id (storage/conversation.py), so a replay only shows where things stand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import delete, false, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxUpdate

# The namespace of the advisory locks that say a process is alive (PostgreSQL): each process
# holds (RECEIVER_LOCKS, its receiver number) for its life (storage/turns.py, ProcessMark).
RECEIVER_LOCKS = 0x6864  # "hd"


class Order(NamedTuple):
    """Whose order an update belongs to: its sender's Telegram id and its chat's id (either
    may be missing). Updates of one sender, and of one chat, are handled in update-id order."""

    sender_id: int | None
    chat_id: int | None


class Kept(NamedTuple):
    """An update in the inbox, as the ordering across processes sees it."""

    update_id: int
    sender_id: int | None
    chat_id: int | None


async def keep(
    session: AsyncSession,
    *,
    update_id: int,
    payload: dict[str, Any],
    now: datetime,
    receiver: int = 0,
) -> None:
    """Keep an update (once: a redelivered one is already there)."""
    await write(session, keep={update_id: payload}, now=now, receiver=receiver)


async def write(
    session: AsyncSession,
    *,
    keep: dict[int, dict[str, Any]],
    forget: Iterable[int] = (),
    now: datetime,
    receiver: int = 0,
    orders: Mapping[int, Order] | None = None,
) -> None:
    """Keep the updates received since the last write and forget those handled since, in one
    transaction (a redelivered update is kept once). `receiver` names the process that took
    them: while it lives, nobody else handles them. `orders` tells whose order each belongs
    to."""
    if keep:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        orders = orders or {}
        await session.execute(
            insert(InboxUpdate)
            .values(
                [
                    {
                        "update_id": update_id,
                        "payload": payload,
                        "received_at": now,
                        "replays": 0,
                        "receiver": receiver,
                        "sender_id": orders.get(update_id, _NO_ORDER).sender_id,
                        "chat_id": orders.get(update_id, _NO_ORDER).chat_id,
                    }
                    for update_id, payload in keep.items()
                ]
            )
            .on_conflict_do_nothing(index_elements=["update_id"])
        )
    ids = list(forget)
    if ids:
        await session.execute(delete(InboxUpdate).where(InboxUpdate.update_id.in_(ids)))
    await session.commit()


_NO_ORDER = Order(None, None)


async def kept_before(session: AsyncSession, waiting: Sequence[Kept]) -> list[Kept]:
    """The updates still in the inbox that come before any of `waiting` in its sender's or its
    chat's order (each waiting update's own row aside), oldest first."""
    senders = {w.sender_id for w in waiting if w.sender_id is not None}
    chats = {w.chat_id for w in waiting if w.chat_id is not None}
    if not senders and not chats:
        return []
    rows = await session.execute(
        select(InboxUpdate.update_id, InboxUpdate.sender_id, InboxUpdate.chat_id)
        .where(
            InboxUpdate.update_id < max(w.update_id for w in waiting),
            or_(
                InboxUpdate.sender_id.in_(senders) if senders else false(),
                InboxUpdate.chat_id.in_(chats) if chats else false(),
            ),
        )
        .order_by(InboxUpdate.update_id)
    )
    return [Kept(*row) for row in rows]


async def sender_has_later(session: AsyncSession, *, sender_id: int, after: int) -> bool:
    """Whether an update of this sender newer than `after` is still in the inbox (received,
    and not yet handled or not yet forgotten)."""
    found = await session.scalar(
        select(InboxUpdate.update_id)
        .where(InboxUpdate.sender_id == sender_id, InboxUpdate.update_id > after)
        .limit(1)
    )
    return found is not None


async def forget(session: AsyncSession, update_ids: Iterable[int]) -> int:
    """Forget handled updates; return how many."""
    ids = list(update_ids)
    if not ids:
        return 0
    result = await session.execute(delete(InboxUpdate).where(InboxUpdate.update_id.in_(ids)))
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# An update older than this is not worth answering any more: it is forgotten instead.
STALE = timedelta(hours=1)
# An update handed over this many times and still here may be the one that kills the process
# handling it: it is forgotten rather than tried forever.
MAX_REPLAYS = 3


async def adopt_left_over(
    session: AsyncSession, *, receiver: int, now: datetime, limit: int = 10_000
) -> list[dict[str, Any]]:
    """The updates kept by processes that are gone, now `receiver`'s to handle, oldest first.

    A process that received an update and died before handling it cannot be asked again, and
    Telegram will not send the update again: whoever notices takes it over. On PostgreSQL a
    living process holds its advisory lock, so the lock is free exactly when the process is
    gone (the try takes it for this transaction only: two processes never adopt the same
    rows). On SQLite there is one process: every other receiver is an earlier start.
    """
    await session.execute(
        delete(InboxUpdate).where(
            or_(InboxUpdate.received_at < now - STALE, InboxUpdate.replays >= MAX_REPLAYS)
        )
    )
    others = set(
        await session.scalars(
            select(InboxUpdate.receiver).where(InboxUpdate.receiver != receiver).distinct()
        )
    )
    gone = [other for other in sorted(others) if await process_gone(session, other)]
    if not gone:
        await session.commit()
        return []
    rows = list(
        await session.execute(
            select(InboxUpdate.update_id, InboxUpdate.payload)
            .where(InboxUpdate.receiver.in_(gone))
            .order_by(InboxUpdate.update_id)
            .limit(limit)
        )
    )
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id.in_([update_id for update_id, _ in rows]))
        .values(receiver=receiver, replays=InboxUpdate.replays + 1)
    )
    await session.commit()
    return [payload for _, payload in rows]


async def process_gone(session: AsyncSession, receiver: int) -> bool:
    """Whether the process of this mark is gone (on PostgreSQL its advisory lock is free: the
    try holds it until the transaction ends, so two askers never both see it gone). SQLite
    serves one process: any other mark is an earlier start."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(
        await session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:ns, :key)"),
            {"ns": RECEIVER_LOCKS, "key": receiver},
        )
    )
