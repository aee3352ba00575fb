"""Whose turn it is to poll Telegram, when several bot processes share one PostgreSQL.

Telegram answers a second getUpdates caller with 409 Conflict, so with long polling exactly one
process may poll. Each `hdbot run` asks for the poller's turn first: a PostgreSQL advisory
lock, held on a connection of its own for the life of the process. The others wait, asking
again every second; when the holder dies its connection closes, PostgreSQL lets the lock go,
and the next process takes over (open conversations are rows in the database: it carries on
where the first stopped). SQLite serves one process and needs no turn.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

POLLER_LOCK = 0x6864626F7450  # "hdbotP"
ASK_EVERY = 1.0  # seconds between asks while another process polls


class PollerTurn:
    """The poller's turn for this process, once `wait` returns (on PostgreSQL)."""

    def __init__(self, engine: AsyncEngine, *, ask_every: float = ASK_EVERY) -> None:
        self.engine = engine
        self.ask_every = ask_every
        self._connection: AsyncConnection | None = None
        self.waited = False  # another process had the turn when this one asked first

    @property
    def needed(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def wait(self) -> None:
        """Return once this process may poll (at once on SQLite)."""
        if not self.needed or self._connection is not None:
            return
        while True:
            connection = await self.engine.connect()
            try:
                got = bool(
                    await connection.scalar(
                        text("SELECT pg_try_advisory_lock(:k)"), {"k": POLLER_LOCK}
                    )
                )
            except BaseException:
                await connection.close()
                raise
            if got:
                # Committed so the connection holds no transaction; the lock is the session's.
                await connection.commit()
                self._connection = connection
                return
            await connection.close()
            if not self.waited:
                logger.info("another hdbot process polls this bot: waiting to take over")
                self.waited = True
            await asyncio.sleep(self.ask_every)

    async def still_held(self) -> bool:
        """Whether the lock's connection is alive (a PostgreSQL restart ends it, and the lock
        with it: then this process must stop polling)."""
        if self._connection is None:
            return not self.needed
        try:
            await self._connection.scalar(text("SELECT 1"))
            await self._connection.commit()
        except Exception:
            logger.exception("lost the connection that holds the poller's turn")
            return False
        return True

    async def release(self) -> None:
        """Give the turn up (a process stopping): the next one takes over at its next ask."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            # Unlocked before the connection goes back to the pool, where the lock would stay.
            await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": POLLER_LOCK})
            await connection.commit()
            await connection.close()
        except Exception:
            await connection.invalidate()  # closed for good: its session, and the lock, end
