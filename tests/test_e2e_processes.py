"""Several `hdbot run` processes on one PostgreSQL.

Long polling: Telegram answers a second poller with 409 Conflict, so one process polls and the
others wait their turn (storage/turns.py). Killed mid-report, the polling process's turn passes
to the waiting one within seconds, and the inspector finishes the report without typing
anything again: the draft is a row in the database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.sandbox.botapi import FakeBotAPI, Message, make_jpeg
from storage.db import create_engine, make_sessions
from storage.models import HiddenDanger
from tests.bot_process import WAIT, BotProcess, prepare_campaign, process_env

pytestmark = [pytest.mark.e2e]

TAKE_OVER = 10.0  # seconds, at most, from the kill to the next answer


async def _dangers(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        async with make_sessions(engine)() as s:
            return await s.scalar(select(func.count()).select_from(HiddenDanger)) or 0
    finally:
        await engine.dispose()


def test_two_polling_processes_one_polls_and_the_other_takes_over(
    server: FakeBotAPI, pg_url: str, tmp_path: Path
) -> None:
    code = asyncio.run(prepare_campaign(pg_url))
    env = process_env(server, pg_url, tmp_path)
    first = BotProcess(env, tmp_path / "first.log")
    second = BotProcess(env, tmp_path / "second.log")
    person = server.user(first_name="Wang", language_code="en")
    chat = person.private_chat

    def answered(text: str, within: float = WAIT) -> Message:
        return chat.next_message_sync(lambda m: text in (m.text or m.caption or ""), within=within)

    def press(contains: str, prefix: str) -> None:
        message = next(
            m for m in reversed(chat.bot_messages) if contains in (m.text or m.caption or "")
        )
        label = next(t for row in message.inline_keyboard for t, _ in row if t.startswith(prefix))
        person.press(message, label)

    def log_has(process: BotProcess, text: str) -> Callable[[], bool]:
        return lambda: text in process.log.read_text(errors="replace")

    try:
        first.start()
        person.send_text(f"/start {code}")
        answered("You are registered")
        second.start()
        _until(log_has(second, "waiting to take over"))
        person.send_text("/report")
        answered("Step 1/9")
        press("Step 1/9", "MU-01")
        answered("Step 2/9")
        person.send_text("Dalian Chemical Works")
        answered("Step 3/9")
        polls_before_kill = len(server.requests("getUpdates"))

        first.kill()
        killed = time.monotonic()
        press("Step 3/9", "✓")
        answered("Step 4/9", within=TAKE_OVER + 5)
        took = time.monotonic() - killed
        print(f"the second process answered {took:.1f} s after the first was killed")
        assert took < TAKE_OVER
        assert log_has(second, "taking over")()

        person.send_text("Dike of the tank farm broken")
        answered("Step 5/9")
        person.send_photo(make_jpeg(color=(200, 30, 30)))
        answered("1 of at most 10")
        press("1 of at most 10", "✅")
        answered("Step 6/9")
        person.send_location(38.95, 121.55)
        answered("Step 7/9")
        press("Step 7/9", "General")
        answered("Step 8/9")
        press("Step 8/9", "7 days")
        answered("Please check your report")
        press("Please check your report", "✅")
        answered("Submitted as")
    finally:
        first.stop()
        second.stop()
    assert asyncio.run(_dangers(pg_url)) == 1
    # Never two pollers at once: Telegram would have answered one of them 409 Conflict.
    polls = server.requests("getUpdates")
    assert len(polls) > polls_before_kill
    assert not [p for p in polls if p.error_code == 409]


def _until(condition: Callable[[], bool], within: float = WAIT) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
