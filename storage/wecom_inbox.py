"""WeCom's callbacks, kept before WeCom is answered and handled once each.

WeCom retries a callback it got no answer to within five seconds, up to three times, and
nothing else tells a retry from a new message: each is kept under its key (the message id, or
sender, time and button for events) in the same table that tells a retry apart. A message kept
and not yet handled when the process died is handled when the front starts again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WeComInbox

# Handled callbacks are kept this long: WeCom's retries come within a minute.
KEEP_HANDLED = timedelta(days=2)


async def keep(
    session: AsyncSession,
    *,
    key: str,
    wecom_user_id: str,
    message: dict[str, Any],
    now: datetime,
) -> int | None:
    """Keep a callback and commit; its inbox id, or None when it was kept before."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    kept = await session.scalar(
        insert(WeComInbox)
        .values(key=key, wecom_user_id=wecom_user_id, message=message, received_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(WeComInbox.id)
    )
    await session.commit()
    return kept


async def inbox_id(session: AsyncSession, key: str) -> int | None:
    """The id a kept callback has (an update id of its own for the domain operations)."""
    return await session.scalar(select(WeComInbox.id).where(WeComInbox.key == key))


async def unhandled(session: AsyncSession, *, limit: int = 500) -> list[tuple[int, dict[str, Any]]]:
    """Callbacks kept and not handled, oldest first (each person's in the order they came)."""
    rows = await session.execute(
        select(WeComInbox.id, WeComInbox.message)
        .where(WeComInbox.handled_at.is_(None))
        .order_by(WeComInbox.id)
        .limit(limit)
    )
    return [(i, dict(message)) for i, message in rows.all()]


async def mark_handled(session: AsyncSession, inbox_id: int, *, now: datetime) -> None:
    """Note that a kept callback was handled, and commit."""
    await session.execute(
        update(WeComInbox).where(WeComInbox.id == inbox_id).values(handled_at=now)
    )
    await session.commit()


async def forget_handled(session: AsyncSession, *, now: datetime) -> int:
    """Delete callbacks handled long ago; return how many."""
    result = await session.execute(
        delete(WeComInbox).where(WeComInbox.handled_at < now - KEEP_HANDLED)
    )
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
