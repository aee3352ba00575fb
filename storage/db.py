"""Engines and sessions: one engine per process, one session per use case."""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_inline
from storage.sqlite_inline import BUSY_WAIT

Sessions = async_sessionmaker[AsyncSession]


def create_engine(url: str, *, echo: bool = False, offload: bool = False) -> AsyncEngine:
    """Create the async engine, tuning SQLite for a bot that writes often.

    On SQLite, queries run on the event loop (storage/sqlite_inline.py) unless `offload`: an
    engine for long reads (exports, statistics) keeps aiosqlite's thread, so a query of
    seconds never stops the loop.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        if parsed.database in (None, "", ":memory:"):
            raise ValueError("an in-memory SQLite database cannot be shared; give a file path")
        if offload:
            kwargs["connect_args"] = {"timeout": BUSY_WAIT}
        else:
            kwargs["async_creator"] = sqlite_inline.connector(parsed.database)
        # Opening a connection (the file, the pragmas, the schema; a thread for aiosqlite)
        # costs more than most queries: keep them. Whoever creates an engine disposes of it.
        kwargs["pool_size"] = 8
        kwargs["max_overflow"] = 8
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(url, **kwargs)
    if sqlite:
        # Inline connections must never block on a lock: they wait in asyncio instead.
        busy_ms = int(BUSY_WAIT * 1000) if offload else 0
        event.listen(engine.sync_engine, "connect", partial(_sqlite_pragmas, busy_ms=busy_ms))
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


READ_ONLY = {"hdbot_read_only": True}


def _sqlite_begin(connection: Any) -> None:
    # Python's sqlite3 opens a transaction only at the first write, so a SAVEPOINT before it
    # would commit on RELEASE. Begin every transaction ourselves; IMMEDIATE takes the write
    # lock up front, so a transaction that reads and then writes never fails half-way. A
    # long read (an export) says so and takes no lock: in WAL mode writers go on beside it.
    if connection.get_execution_options().get("hdbot_read_only"):
        connection.exec_driver_sql("BEGIN DEFERRED")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


async def read_only(session: AsyncSession) -> None:
    """Mark a session that will only read, before its first query (long reads: exports)."""
    await session.connection(execution_options=READ_ONLY)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, busy_ms: int) -> None:
    # Hand transaction control to SQLAlchemy (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.close()


def make_sessions(engine: AsyncEngine) -> Sessions:
    """Return the session factory; objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def reading(sessions: Sessions) -> Sessions:
    """Sessions of the same database that only read: on SQLite they take no write lock, so a
    list, a card or a look-up never waits for (or holds up) someone's report step."""
    engine = sessions.kw["bind"]
    return async_sessionmaker(engine.execution_options(**READ_ONLY), expire_on_commit=False)


def offloaded(sessions: Sessions) -> tuple[Sessions, AsyncEngine | None]:
    """Sessions of the same database for work that may take long (the minute tick, the push
    sender, exports, statistics), and the engine to dispose of.

    On SQLite they run on aiosqlite's threads, never on the event loop: a tick of a thousand
    queries must not hold up the answers to people. PostgreSQL's driver never blocks the loop,
    so its sessions serve as they are (and no engine is made).
    """
    engine: AsyncEngine = sessions.kw["bind"]
    if engine.url.get_backend_name() != "sqlite":
        return sessions, None
    threaded = create_engine(engine.url.render_as_string(hide_password=False), offload=True)
    return make_sessions(threaded), threaded


async def refresh_statistics(session: AsyncSession) -> bool:
    """Give SQLite's planner fresh statistics of every index (ANALYZE); return whether it ran.

    Without them SQLite guesses, and at a hundred thousand hidden dangers and more it reads a
    person's lists through the index of every unit's open records instead of theirs (/overdue
    of a district: 150 ms instead of 2 ms at a million). PostgreSQL's autovacuum keeps its own.
    """
    if session.get_bind().dialect.name != "sqlite":
        return False
    await session.execute(text("ANALYZE"))
    await session.commit()
    return True
