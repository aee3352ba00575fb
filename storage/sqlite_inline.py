"""SQLite for the event loop: aiosqlite's interface, with the queries run in place.

aiosqlite runs every call of a connection (making a cursor, executing, fetching, closing it)
on a thread of its own and hands the result back to the event loop: about nine thread hops
for a session with one query, which cost far more CPU than SQLite's own work on an indexed
lookup (measured: 0.87 ms against 0.1 ms; bench/README.md). The bot's queries are short,
so this driver runs them on the loop itself, behind the same interface SQLAlchemy's aiosqlite
dialect talks to (it is handed over with `create_async_engine(async_creator=...)`).

The one thing that could make a query long is waiting for another writer's lock. The busy
timeout is therefore 0, and a statement refused with "database is locked" is retried after an
asyncio sleep, so the loop keeps serving everybody else while one write waits its turn. Long
reads (exports, statistics) use a thread-backed engine instead (`create_engine(offload=True)`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

# How long a statement may wait for another connection's write lock, as busy_timeout did.
BUSY_WAIT = 30.0
_FIRST_PAUSE = 0.001
_LONGEST_PAUSE = 0.05


def _is_busy(error: sqlite3.OperationalError) -> bool:
    message = str(error).lower()
    return "database is locked" in message or "database is busy" in message


# However many statements an operation runs, the loop gets a turn at least this often.
YIELD_EVERY = 0.005
_last_turn = 0.0


async def _patiently(call: Callable[[], T]) -> T:
    """Run a statement; while another connection holds the lock, wait without blocking."""
    global _last_turn
    now = time.monotonic()
    if now - _last_turn > YIELD_EVERY:
        # A statement completes without suspending: an operation of many of them would keep
        # everybody else waiting until its end. Give the others a turn now and then.
        _last_turn = now
        await asyncio.sleep(0)
    deadline: float | None = None
    pause = _FIRST_PAUSE
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
            now = time.monotonic()
            deadline = deadline or now + BUSY_WAIT
            if now >= deadline:
                raise
            # A statement refused for a lock did nothing: running it again is safe.
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)


class Cursor:
    """An aiosqlite-style cursor whose methods complete without leaving the event loop."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Cursor:
        await _patiently(lambda: self._cursor.execute(sql, parameters or ()))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        rows = list(parameters)
        await _patiently(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _RunNow:
    """Stands in for aiosqlite's queue to its thread: what is put in runs at once."""

    def __init__(self) -> None:
        pass

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:  # handed to whoever awaits the future, as aiosqlite does
            if future is not None:
                future.set_exception(error)
            return
        if future is not None:
            future.set_result(result)


class Connection:
    """An aiosqlite-style connection over a plain sqlite3 connection used on the loop."""

    def __init__(self, database: str) -> None:
        # isolation_level=None: SQLAlchemy (storage/db.py) issues BEGIN itself.
        self._conn = sqlite3.connect(
            database, timeout=0, isolation_level=None, check_same_thread=False
        )
        self._tx = _RunNow()

    @property
    def _connection(self) -> sqlite3.Connection | None:
        return self._conn

    def cursor(self) -> Cursor:
        return Cursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Cursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        await _patiently(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._conn.isolation_level = value


def connector(database: str) -> Callable[[], Any]:
    """The `async_creator` for SQLAlchemy: a new connection to this file."""

    async def connect() -> Connection:
        return Connection(database)

    return connect
