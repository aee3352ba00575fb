"""SQLite on the event loop: a write waiting for another's lock never stops the loop."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from storage import sqlite_inline
from storage.db import create_engine, make_sessions, offloaded, reading
from storage.models import Unit


async def test_a_writer_waits_for_the_lock_while_the_loop_goes_on(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    other = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None)
    try:
        # Another process (a CLI command, a second bot) holds the write lock.
        other.execute("BEGIN IMMEDIATE")
        other.execute(
            "INSERT INTO unit (name, kind, created_at) VALUES ('其他进程', 'region', '2026-11-29')"
        )
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())

        async def write() -> None:
            async with make_sessions(engine)() as s:
                s.add(Unit(name="甘井子区", kind="region"))
                await s.commit()

        writing = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not writing.done()  # it waits for the lock …
        assert ticks >= 10  # … and everybody else goes on meanwhile
        other.execute("COMMIT")
        await asyncio.wait_for(writing, 5)
        ticker.cancel()
        async with make_sessions(engine)() as s:
            names = set(await s.scalars(select(Unit.name)))
        assert names == {"其他进程", "甘井子区"}
    finally:
        other.close()
        await engine.dispose()


async def test_a_lock_held_too_long_fails_the_write(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "BUSY_WAIT", 0.2)
    engine = create_engine(sqlite_url)
    other = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="locked"):
            async with make_sessions(engine)() as s:
                await s.execute(text("SELECT 1"))
        other.execute("ROLLBACK")
    finally:
        other.close()
        await engine.dispose()


async def test_errors_and_long_reads_behave_as_with_aiosqlite(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    sessions = make_sessions(engine)
    background, threaded = offloaded(sessions)
    assert threaded is not None
    try:
        async with sessions() as s:
            s.add(Unit(name="长海县", kind="region"))
            await s.commit()
        with pytest.raises(IntegrityError):
            async with sessions() as s:
                s.add(Unit(name="长海县", kind="region"))
                await s.commit()
        async with reading(background)() as s:  # aiosqlite's thread, the same rows
            assert list(await s.scalars(select(Unit.name))) == ["长海县"]
    finally:
        await threaded.dispose()
        await engine.dispose()
