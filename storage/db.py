"""Engines and sessions: one engine per process, one session per use case."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

Sessions = async_sessionmaker[AsyncSession]


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine, tuning SQLite for a bot that writes often and from one process."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30}
        if parsed.database in (None, "", ":memory:"):
            raise ValueError("an in-memory SQLite database cannot be shared; give a file path")
        # aiosqlite runs one thread per connection; pooling them buys nothing and
        # keeps file handles open across tests.
        kwargs["poolclass"] = NullPool
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_sessions(engine: AsyncEngine) -> Sessions:
    """Return the session factory; objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
