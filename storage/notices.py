"""Private notices to people about a change: queued in the change's own transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import push_address
from storage.models import User
from storage.push_payloads import NoticePush
from storage.pushes.outbox import enqueue


def queue_notices(
    session: AsyncSession,
    *,
    users: Iterable[User],
    key: str,
    params: Mapping[str, str | int],
    event_id: int,
    now: datetime,
    danger_id: int | None = None,
) -> int:
    """Queue a private message (a translation key and its placeholders) to each active person,
    once per event; return how many were queued. Deactivated people are told nothing."""
    notice = NoticePush(key=key, params=params, danger_id=danger_id)
    queued = 0
    for user in {u.id: u for u in users if u.active}.values():
        to = push_address(user)
        enqueue(
            session,
            notice,
            channel=to.channel,
            target=to.target,
            period=str(event_id),
            now=now,
        )
        queued += 1
    return queued
