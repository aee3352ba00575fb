"""The poller's turn: one process of several on one PostgreSQL polls; SQLite needs no turn."""

from __future__ import annotations

import asyncio

from storage.db import create_engine
from storage.turns import PollerTurn


async def test_one_turn_at_a_time_and_the_next_takes_over(pg_url: str) -> None:
    engines = [create_engine(pg_url), create_engine(pg_url)]
    first, second = (PollerTurn(engine, ask_every=0.05) for engine in engines)
    try:
        await first.wait()
        waiting = asyncio.create_task(second.wait())
        await asyncio.sleep(0.3)
        assert not waiting.done() and second.waited
        assert await first.still_held()
        await first.release()
        await asyncio.wait_for(waiting, 5)
        # The first's connection went back to its pool unlocked: the second got the turn.
        assert await second.still_held()
        await second.release()
    finally:
        for engine in engines:
            await engine.dispose()


async def test_sqlite_needs_no_turn(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    turn = PollerTurn(engine)
    await asyncio.wait_for(turn.wait(), 1)
    assert not turn.needed and await turn.still_held()
    await turn.release()
    await engine.dispose()
