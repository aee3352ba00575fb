"""The inbox: every update received is kept here before Telegram learns it arrived, and
forgotten once it was handled; what a crash left in between is handled again at start.

Telegram (long polling) takes an update as delivered at the bot's next getUpdates, which
python-telegram-bot makes as soon as it has queued the last batch, long before the handlers
are done; a webhook answers 200 as soon as the update is queued. Either way an update the bot
was killed in the middle of would be gone. Handling one again is safe: each step claims its
update id (storage/conversation.py), so a replay only shows where things stand.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxUpdate


async def keep(
    session: AsyncSession, *, update_id: int, payload: dict[str, Any], now: datetime
) -> None:
    """Keep an update (once: a redelivered one is already there)."""
    await write(session, keep={update_id: payload}, now=now)


async def write(
    session: AsyncSession,
    *,
    keep: dict[int, dict[str, Any]],
    forget: Iterable[int] = (),
    now: datetime,
) -> None:
    """Keep the updates received since the last write and forget those handled since, in one
    transaction (a redelivered update is kept once)."""
    if keep:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            insert(InboxUpdate)
            .values(
                [
                    {"update_id": update_id, "payload": payload, "received_at": now, "replays": 0}
                    for update_id, payload in keep.items()
                ]
            )
            .on_conflict_do_nothing(index_elements=["update_id"])
        )
    ids = list(forget)
    if ids:
        await session.execute(delete(InboxUpdate).where(InboxUpdate.update_id.in_(ids)))
    await session.commit()


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
# An update handed over this many times at start and still here may be the one that kills
# the process: it is forgotten rather than tried forever.
MAX_REPLAYS = 3


async def left_over(
    session: AsyncSession, *, now: datetime, limit: int = 10_000
) -> list[dict[str, Any]]:
    """Updates received and never handled (the bot stopped in between), oldest first; each
    counts one more replay."""
    await session.execute(
        delete(InboxUpdate).where(
            or_(InboxUpdate.received_at < now - STALE, InboxUpdate.replays >= MAX_REPLAYS)
        )
    )
    rows = list(
        await session.execute(
            select(InboxUpdate.update_id, InboxUpdate.payload)
            .order_by(InboxUpdate.update_id)
            .limit(limit)
        )
    )
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id.in_([update_id for update_id, _ in rows]))
        .values(replays=InboxUpdate.replays + 1)
    )
    await session.commit()
    return [payload for _, payload in rows]
