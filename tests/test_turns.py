"""The poller's turn: one process of several on one PostgreSQL polls; SQLite needs no turn."""

from __future__ import annotations

import asyncio

from storage import inbox
from storage.clock import utcnow
from storage.db import create_engine, make_sessions
from storage.turns import PollerTurn, ProcessMark


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


async def test_a_living_process_keeps_its_updates_and_a_dead_ones_are_adopted(pg_url: str) -> None:
    """Webhook processes behind one address: what one took and did not handle is handled by
    another only once the first is gone (its mark's lock is free), and by one only."""
    engines = [create_engine(pg_url) for _ in range(3)]
    marks = [ProcessMark(engine) for engine in engines]
    try:
        first, second, third = [await mark.take() for mark in marks]
        assert len({first, second, third}) == 3
        sessions = make_sessions(engines[1])
        async with sessions() as s:
            await inbox.write(s, keep={1: {"update_id": 1}}, now=utcnow(), receiver=first)
        async with sessions() as s:
            assert await inbox.adopt_left_over(s, receiver=second, now=utcnow()) == []
        await marks[0].release()  # the first process is gone
        adopted = []
        for n in (1, 2):
            async with make_sessions(engines[n])() as s:
                adopted.append(
                    await inbox.adopt_left_over(s, receiver=(second, third)[n - 1], now=utcnow())
                )
        assert adopted == [[{"update_id": 1}], []]  # the second took it; the third sees it is
        # the second's, and the second lives
    finally:
        for mark in marks:
            await mark.release()
        for engine in engines:
            await engine.dispose()
