"""What a bot process forgets once an hour, whichever fronts it serves.

Update ids (Telegram's, and the WeCom front's −(inbox id)), pushes sent long ago, photos no
record uses, albums long answered and WeCom callbacks handled long ago: each table would
otherwise grow for the campaign's whole life. Once a day, too, SQLite's planner gets fresh
statistics (PostgreSQL keeps its own).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.config import Settings
from storage import albums, wecom_inbox
from storage.clock import utcnow
from storage.conversation import forget_old_updates
from storage.db import Sessions, refresh_statistics
from storage.pushes import forget_done
from storage.uploads import forget_unused_photos

logger = logging.getLogger(__name__)

FORGET_EVERY = 3600  # seconds
FIRST_AFTER = 60  # seconds after start: the start itself has enough to do
# ANALYZE reads every index (about 4 s at a million hidden dangers): once a day is enough.
STATISTICS_EVERY = timedelta(days=1)
_statistics_at: dict[str, datetime] = {}


async def forget_old(sessions: Sessions, settings: Settings) -> None:
    """Delete what is kept only for a while, and log how much went."""
    async with sessions() as session:
        forgotten = await forget_old_updates(session, now=utcnow())
        pushes = await forget_done(session, now=utcnow())
        photos = await forget_unused_photos(session, settings.photo_dir, now=utcnow())
        await albums.forget_old(session, now=utcnow())
        callbacks = await wecom_inbox.forget_handled(session, now=utcnow())
    last = _statistics_at.get(str(settings.database_url))
    if last is None or utcnow() - last >= STATISTICS_EVERY:
        async with sessions() as session:
            if await refresh_statistics(session):
                logger.info("refreshed the database's statistics")
        _statistics_at[str(settings.database_url)] = utcnow()
    if forgotten or pushes or photos or callbacks:
        logger.info(
            "forgot %d old update ids, %d old pushes, %d unused photos, %d WeCom callbacks",
            forgotten,
            pushes,
            photos,
            callbacks,
        )
