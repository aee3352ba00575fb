"""Small key-value facts the deployment learns at run time."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Setting

BOT_USERNAME = "bot_username"


async def get_setting(session: AsyncSession, key: str) -> str | None:
    """Return a stored setting, or None."""
    row = await session.get(Setting, key)
    return row.value if row else None


async def remember_setting(session: AsyncSession, *, key: str, value: str) -> None:
    """Store a setting, replacing the old value."""
    row = await session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    elif row.value != value:
        row.value = value
    try:
        await session.commit()
    except IntegrityError:
        # Another process stored it first; theirs is as good as ours.
        await session.rollback()
