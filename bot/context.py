"""Typed context for handlers: the settings and sessions every callback needs."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.config import Settings
from bot.pacing import SenderState
from storage.db import Sessions


@dataclass
class BotServices:
    """What the Application carries for its handlers; filled in by the factory."""

    settings: Settings = field(default_factory=Settings)
    sessions: Sessions | None = None
    sender: SenderState = field(default_factory=SenderState)
    # Run when the Application shuts down (the engine's disposal, say), last first.
    closers: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    # Albums already answered with a hint (in memory: a repeated hint is harmless).
    hinted_albums: deque[str] = field(default_factory=lambda: deque(maxlen=200))


UserData = dict[object, object]
ChatData = dict[object, object]


class BotContext(CallbackContext[ExtBot[None], UserData, ChatData, BotServices]):
    """CallbackContext with typed access to hdbot's services."""

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


HdApplication = Application[
    ExtBot[None], BotContext, UserData, ChatData, BotServices, JobQueue[BotContext]
]
