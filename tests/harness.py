"""Run the real hdbot Application against the fake Bot API, in the test's own event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.app import build_application
from bot.config import Settings
from bot.context import HdApplication
from bot.sandbox.botapi import FakeBotAPI
from storage.db import Sessions, create_engine, make_sessions
from tests.transactions import TransactionWatch


@dataclass
class RunningBot:
    application: HdApplication
    settings: Settings
    sessions: Sessions
    # Every exception that reached the error handler: a test of bad input expects none.
    errors: list[BaseException] = field(default_factory=list)


def settings_for(
    server: FakeBotAPI, *, db_url: str, data_dir: Path, **overrides: object
) -> Settings:
    """Settings pointing the bot at the fake server and a test database."""
    values: dict[str, object] = {
        "token": server.token,
        "database_url": db_url,
        "base_url": server.base_url,
        "base_file_url": server.base_file_url,
        "data_dir": data_dir,
        "language": "zh_CN",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@asynccontextmanager
async def running_bot(settings: Settings) -> AsyncIterator[RunningBot]:
    """Start the bot as `hdbot run` does (post_init included) and stop it cleanly.

    While it runs, no Bot API request may be made with a database transaction open (see
    tests/transactions.py); the test fails at the end if one was.
    """
    watch = TransactionWatch()
    with watch.watching():
        engine = create_engine(settings.db_url)
        sessions = make_sessions(engine)
        # No minute tick: a test run at 09:00 in Dalian must not get the day's reminders.
        application = build_application(
            settings, sessions=sessions, request_timeout=5.0, schedule=False
        )
        await application.initialize()
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        running = RunningBot(application, settings, sessions)

        async def record(_update: object, context: object) -> None:
            error = getattr(context, "error", None)
            if error is not None:
                running.errors.append(error)

        application.add_error_handler(record)
        try:
            yield running
        finally:
            await application.updater.stop()
            await application.stop()
            await application.shutdown()
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
            await engine.dispose()
            await asyncio.sleep(0)
    assert not watch.violations, "\n\n".join(watch.violations[:3])
