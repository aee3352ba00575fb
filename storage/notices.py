"""Private notices to people about a change: queued in the change's own transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Channel, Outbox, User


def queue_notices(
    session: AsyncSession,
    *,
    users: Iterable[User],
    key: str,
    params: dict[str, Any],
    event_id: int,
    now: datetime,
    danger_id: int | None = None,
) -> int:
    """Queue a private message (a translation key and its placeholders) to each active person,
    once per event; return how many were queued. Deactivated people are told nothing."""
    queued = 0
    for user in {u.id: u for u in users if u.active}.values():
        payload: dict[str, Any] = {"key": key, "params": params}
        if danger_id is not None:
            payload["danger_id"] = danger_id
        session.add(
            Outbox(
                key=f"tg:{user.telegram_id}:event:{event_id}",
                channel=Channel.TELEGRAM,
                target=str(user.telegram_id),
                kind="notice",
                period=str(event_id),
                payload=payload,
                not_before=now,
                created_at=now,
            )
        )
        queued += 1
    return queued
