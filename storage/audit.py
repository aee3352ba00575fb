"""The audit trail: every change writes an event in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import utcnow
from storage.models import Event


def record_event(
    session: AsyncSession,
    *,
    action: str,
    actor: str,
    actor_id: int | None = None,
    danger_id: int | None = None,
    subject: str = "",
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Event:
    """Add an audit event to the session; the caller's commit makes it durable."""
    event = Event(
        action=action,
        actor=actor,
        actor_id=actor_id,
        danger_id=danger_id,
        subject=subject,
        detail=detail or {},
        created_at=now or utcnow(),
    )
    session.add(event)
    return event
