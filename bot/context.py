"""Typed context for handlers: the settings and sessions every callback needs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.config import Settings
from bot.intake.throttle import FloodGuard, OnceInAWhile
from bot.push.pacing import SenderState
from bot.wecom.callback import Serving
from storage.db import Sessions, reading
from storage.turns import PollerTurn, ProcessMark

if TYPE_CHECKING:
    from handlers.telegram.people import Caller


@dataclass
class BotServices:
    """What the Application carries for its handlers; filled in by the factory."""

    settings: Settings = field(default_factory=Settings)
    sessions: Sessions | None = None
    # The same database for operations that only read (no write lock on SQLite), and for work
    # that may take long: scheduled jobs, exports, statistics (on SQLite off the event loop).
    reads: Sessions | None = None
    background: Sessions | None = None
    sender: SenderState = field(default_factory=SenderState)
    # Run when the Application shuts down (the engine's disposal, say), last first.
    closers: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    # Hints to strangers and unbound groups, given at most once in a while
    # (handlers/telegram/access.py).
    hints: OnceInAWhile = field(default_factory=lambda: OnceInAWhile(HINT_EVERY))
    # Exports and statistics charts take seconds of work each: only this many at once.
    heavy: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(HEAVY_AT_ONCE))
    # The update processor's flood guard: the door tells it who is registered
    # (bot/intake/updates.py).
    flood: FloodGuard = field(default_factory=FloodGuard)
    # Long polling with several processes on one PostgreSQL: only the turn's holder polls.
    poller_turn: PollerTurn | None = None
    # This process's mark on the updates it keeps in the inbox (storage/turns.py).
    process_mark: ProcessMark | None = None
    # The WeCom front's callback server, when the WeCom application is configured.
    wecom_serving: Serving | None = None


HINT_EVERY = 600.0  # seconds
HEAVY_AT_ONCE = 2

UserData = dict[object, object]
ChatData = dict[object, object]


class BotContext(CallbackContext[ExtBot[None], UserData, ChatData, BotServices]):
    """CallbackContext with typed access to hdbot's services.

    python-telegram-bot makes one context per update and hands it to every handler of that
    update, so what is learnt about the sender once (`caller`) serves them all.
    """

    def __init__(
        self, application: HdApplication, chat_id: int | None = None, user_id: int | None = None
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.caller: Caller | None = None

    @property
    def settings(self) -> Settings:
        return self.bot_data.settings

    @property
    def jobs(self) -> JobQueue[BotContext]:
        """The job queue, typed for hdbot's context (it exists: the job-queue extra is required)."""
        queue = self.job_queue
        if queue is None:
            raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
        return cast("JobQueue[BotContext]", queue)

    @property
    def sessions(self) -> Sessions:
        sessions = self.bot_data.sessions
        if sessions is None:
            raise RuntimeError("the Application was built without a database")
        return sessions

    @property
    def reads(self) -> Sessions:
        """Sessions for operations that only read."""
        reads = self.bot_data.reads
        if reads is None:
            raise RuntimeError("the Application was built without a database")
        return reads

    @property
    def background(self) -> Sessions:
        """Sessions for work that may take long: scheduled jobs, exports, statistics."""
        background = self.bot_data.background
        if background is None:
            raise RuntimeError("the Application was built without a database")
        return background

    @property
    def long_reads(self) -> Sessions:
        """Read-only sessions for reads that take long (exports, statistics)."""
        return reading(self.background)


HdApplication = Application[
    ExtBot[None], BotContext, UserData, ChatData, BotServices, JobQueue[BotContext]
]
