"""Advisory locks that several bot processes on one PostgreSQL agree by.

- The poller's turn: Telegram answers a second getUpdates caller with 409 Conflict, so with
  long polling exactly one process may poll. Each `hdbot run` asks for the turn first; the
  others wait, asking again every second; when the holder dies its connection closes,
  PostgreSQL lets the lock go, and the next process takes over (open conversations are rows in
  the database: it carries on where the first stopped).
- A process's mark: each process holds a lock of its own number for its life, and stamps the
  updates it takes into the inbox with that number (storage/inbox.py). A mark whose lock is
  free belongs to a process that is gone, and its updates are someone else's to handle.

Each lock is held by a session on a connection of its own. SQLite serves one process and
needs none of this.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.inbox import RECEIVER_LOCKS

logger = logging.getLogger(__name__)

POLLER_LOCK = 0x6864626F7450  # "hdbotP"
ASK_EVERY = 1.0  # seconds between asks while another process polls


class _HeldLock:
    """A session-level advisory lock on a connection kept for it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._connection: AsyncConnection | None = None

    @property
    def needed(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def held(self) -> bool:
        return self._connection is not None

    async def _try(self, take: str, params: dict[str, Any]) -> bool:
        connection = await self.engine.connect()
        try:
            got = bool(await connection.scalar(text(take), params))
            # Committed so the connection holds no transaction; the lock is the session's.
            await connection.commit()
        except BaseException:
            await connection.invalidate()
            raise
        if got:
            self._connection = connection
        else:
            await connection.close()
        return got

    async def still_held(self) -> bool:
        """Whether the lock's connection is alive (a PostgreSQL restart ends it, and the lock
        with it)."""
        if self._connection is None:
            return not self.needed
        try:
            await self._connection.scalar(text("SELECT 1"))
            await self._connection.commit()
        except Exception:
            logger.exception("lost the connection that holds an advisory lock")
            return False
        return True

    async def _release(self, unlock: str, params: dict[str, Any]) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            # Unlocked before the connection goes back to the pool, where the lock would stay.
            await connection.execute(text(unlock), params)
            await connection.commit()
            await connection.close()
        except Exception:
            await connection.invalidate()  # closed for good: its session, and the lock, end


class PollerTurn(_HeldLock):
    """The poller's turn for this process, once `wait` returns (on PostgreSQL)."""

    def __init__(self, engine: AsyncEngine, *, ask_every: float = ASK_EVERY) -> None:
        super().__init__(engine)
        self.ask_every = ask_every
        self.waited = False  # another process had the turn when this one asked first

    async def wait(self) -> None:
        """Return once this process may poll (at once on SQLite)."""
        if not self.needed or self.held:
            return
        while not await self._try("SELECT pg_try_advisory_lock(:k)", {"k": POLLER_LOCK}):
            if not self.waited:
                logger.info("another hdbot process polls this bot: waiting to take over")
                self.waited = True
            await asyncio.sleep(self.ask_every)

    async def release(self) -> None:
        """Give the turn up (a process stopping): the next one takes over at its next ask."""
        await self._release("SELECT pg_advisory_unlock(:k)", {"k": POLLER_LOCK})


class ProcessMark(_HeldLock):
    """This process's number, held for its life: whoever finds it free knows it is gone."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.number = _new_number()

    async def take(self) -> int:
        """Hold this process's number (on SQLite: just pick it); return it."""
        if not self.needed:
            return self.number
        while not self.held and not await self._try(
            "SELECT pg_try_advisory_lock(:ns, :key)", {"ns": RECEIVER_LOCKS, "key": self.number}
        ):
            self.number = _new_number()  # another living process has it
        return self.number

    async def release(self) -> None:
        await self._release(
            "SELECT pg_advisory_unlock(:ns, :key)", {"ns": RECEIVER_LOCKS, "key": self.number}
        )


def _new_number() -> int:
    return 1 + secrets.randbelow(2**31 - 2)
