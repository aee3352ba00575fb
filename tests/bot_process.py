"""`hdbot run` in a child process that a test can kill without warning (SIGKILL) and restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.sandbox.botapi import FakeBotAPI
from storage import invites, tasks
from storage.db import create_engine, make_sessions
from tests.factories import make_campaign, task_row
from tests.timeline import clock_env

T = TypeVar("T")

WAIT = 30.0  # a restarted process needs a moment to import and connect


def process_env(server: FakeBotAPI, db_url: str, folder: Path) -> dict[str, str]:
    """The environment of `hdbot run` against the fake Bot API, in English, its photos in
    `folder`/data."""
    return {
        **os.environ,
        **server.env(),
        "HDBOT_DATABASE_URL": db_url,
        "HDBOT_DATA_DIR": str(folder / "data"),
        "HDBOT_LANGUAGE": "en",
    }


class BotProcess:
    """`hdbot run` in a subprocess that can be killed without warning and started again."""

    def __init__(
        self, env: dict[str, str], log: Path, args: tuple[str, ...] = (), module: str = "bot.cli"
    ) -> None:
        self.env = env
        self.log = log
        self.args = args  # for `hdbot run`, e.g. ("--webhook-url", …)
        self.module = module  # the console script, or a test's wrapper around it
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module, "run", *self.args],
                # Each start takes up the test clock where it stands.
                env={**self.env, **clock_env()},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


async def in_session(db_url: str, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `fn` in one session of the database a process uses (from outside the process)."""
    engine = create_engine(db_url)
    try:
        async with make_sessions(engine)() as session:
            return await fn(session)
    finally:
        await engine.dispose()


async def prepare_campaign(db_url: str) -> str:
    """The test campaign with one task of 甘井子区; returns an inspector's invite code."""
    engine = create_engine(db_url)
    sessions = make_sessions(engine)
    try:
        await make_campaign(sessions)
        async with sessions() as s:
            await tasks.import_tasks(
                s, rows=[task_row(2, "MU-01", title="危化品储罐区专项检查")], actor="test"
            )
        async with sessions() as s:
            return (
                await invites.create_invite(s, role="inspector", unit="甘井子区", actor="test")
            ).code
    finally:
        await engine.dispose()
